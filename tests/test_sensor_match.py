"""Sensor matching: noise and blur measured on images with a known sensor, and the
workspace flow that turns real images into recipe ranges."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from curator import init_workspace
from curator.images import encode_png, from_array
from generators.errors import GeneratorError
from generators.recipe import load_recipe
from generators.sensor_match import (
    estimate_blur_sigma,
    estimate_noise_std,
    match_sensor,
    match_sensor_to_workspace,
)


def _camera_image(rng, blur: float, noise: float, size: int = 128) -> np.ndarray:
    """Flat rectangles (sharp edges) through a gaussian lens and additive noise."""
    img = np.full((size, size, 3), 0.5)
    for _ in range(12):
        x0, y0 = rng.integers(0, size - 20, 2)
        w, h = rng.integers(10, 60, 2)
        img[y0:y0 + h, x0:x0 + w] = rng.uniform(0, 1, 3)
    if blur:
        img = ndimage.gaussian_filter(img, (blur, blur, 0))
    img = img + rng.normal(0, noise, img.shape)
    return np.clip(np.round(img * 255), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("noise", [0.0, 0.01, 0.03])
@pytest.mark.parametrize("blur", [0.8, 1.5, 2.5])
def test_noise_and_blur_are_recovered(blur, noise):
    rng = np.random.default_rng(int(blur * 10 + noise * 1000))
    images = [_camera_image(rng, blur, noise) for _ in range(5)]
    noise_est = np.median([estimate_noise_std(i) for i in images])
    blur_est = np.median([estimate_blur_sigma(i) for i in images])
    assert noise_est == pytest.approx(noise, abs=0.002)
    assert blur_est == pytest.approx(blur, rel=0.25)


def test_sharper_and_cleaner_images_measure_lower():
    rng = np.random.default_rng(0)
    soft = [_camera_image(rng, 2.0, 0.02) for _ in range(4)]
    crisp = [_camera_image(rng, 0.8, 0.005) for _ in range(4)]
    a, b = match_sensor(soft), match_sensor(crisp)
    assert a.ranges["blur_sigma_px"][0] > b.ranges["blur_sigma_px"][1]
    assert a.ranges["noise_std"][0] > b.ranges["noise_std"][1]
    # Blur is given in render pixels: half the resolution, half the blur.
    half = match_sensor(soft, render_size=64)
    assert half.ranges["blur_sigma_px"][1] == pytest.approx(a.ranges["blur_sigma_px"][1] / 2,
                                                           rel=0.01)


def test_workspace_matching_and_the_matched_recipe(tmp_path):
    ws = init_workspace(tmp_path / "ws")
    rng = np.random.default_rng(1)
    import pyarrow as pa

    rows = []
    for _ in range(6):
        img = _camera_image(rng, 1.6, 0.02)
        decoded = from_array(img)
        rows.append({"sample_id": decoded.sample_id, "source": "real", "split": "train",
                     "image_bytes": encode_png(img, "RGB"), "width": 128, "height": 128,
                     "mode": "RGB", "generator": "test", "generator_version": "0",
                     "config_hash": "0"})
    ws.append_samples(pa.Table.from_pylist(rows))
    recipe = load_recipe("objects", {"size": 128})
    estimate = match_sensor_to_workspace(ws, recipe, reference_n=4)
    lo, hi = estimate.ranges["noise_std"]
    assert 0.012 < lo <= hi < 0.03
    lo, hi = estimate.ranges["blur_sigma_px"]
    assert 0.8 < lo <= hi < 2.2  # 1.6 px measured, less the renders' own anti-aliasing
    assert "noise_std" in estimate.to_html()


def test_tiny_images_and_empty_workspaces_are_refused(tmp_path):
    with pytest.raises(GeneratorError, match="at least 32x32"):
        match_sensor([np.zeros((8, 8), np.uint8)])
    with pytest.raises(GeneratorError, match="no real samples"):
        match_sensor_to_workspace(init_workspace(tmp_path / "ws"), load_recipe("objects"))
