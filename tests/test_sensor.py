"""Sensor effects: identity at the defaults, each effect in its expected direction, errors."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from generators.errors import GeneratorError
from generators.sensor import SENSOR_DEFAULTS, apply_sensor


@pytest.fixture
def rgb() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, size=(64, 48, 3), dtype=np.uint8)


def flat(value: int, shape: tuple[int, ...] = (128, 128, 3)) -> np.ndarray:
    return np.full(shape, value, dtype=np.uint8)


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.mark.parametrize("params", [SENSOR_DEFAULTS, {}, {"gamma": 1.0, "jpeg_quality": 0}])
def test_defaults_are_the_identity(rgb: np.ndarray, params: dict) -> None:
    out = apply_sensor(rgb, params, rng())
    np.testing.assert_array_equal(out, rgb)
    assert out is not rgb
    grey = rgb[..., 0]
    np.testing.assert_array_equal(apply_sensor(grey, params, rng()), grey)


def test_noise_std_is_the_requested_one() -> None:
    out = apply_sensor(flat(128, (256, 256, 3)), {"noise_std": 0.04}, rng())
    measured = (out.astype(float) / 255).std()
    assert measured == pytest.approx(0.04, rel=0.03)
    assert out.mean() == pytest.approx(128, abs=0.2)


def test_noise_is_deterministic_per_seed(rgb: np.ndarray) -> None:
    p = {"noise_std": 0.05}
    np.testing.assert_array_equal(apply_sensor(rgb, p, rng(1)), apply_sensor(rgb, p, rng(1)))
    assert not np.array_equal(apply_sensor(rgb, p, rng(1)), apply_sensor(rgb, p, rng(2)))


def test_blur_matches_scipy_and_removes_high_frequencies(rgb: np.ndarray) -> None:
    out = apply_sensor(rgb, {"blur_sigma_px": 1.5}, rng())
    expected = ndimage.gaussian_filter(rgb.astype(float) / 255, sigma=(1.5, 1.5, 0))
    assert np.abs(out - np.rint(expected * 255)).max() <= 1

    def high_freq(img: np.ndarray) -> float:
        return float((ndimage.laplace(img.astype(float), mode="reflect") ** 2).sum())

    assert high_freq(out) < 0.1 * high_freq(rgb)
    assert out.mean() == pytest.approx(rgb.mean(), abs=0.5)


def test_exposure_blows_highlights(rgb: np.ndarray) -> None:
    out = apply_sensor(rgb, {"exposure": 1.5}, rng())
    assert (out == 255).sum() > 5 * (rgb == 255).sum()
    expected = np.minimum(rgb / 255 * 1.5, 1) * 255
    assert np.abs(out - expected).max() <= 0.5 + 1e-4  # float32 inside: ties may round up
    assert apply_sensor(rgb, {"exposure": 0.5}, rng()).mean() < rgb.mean()


def test_gamma_brightens_mid_tones() -> None:
    out = apply_sensor(flat(64), {"gamma": 2.2}, rng())
    assert int(out[0, 0, 0]) == round(255 * (64 / 255) ** (1 / 2.2))
    assert apply_sensor(flat(64), {"gamma": 0.5}, rng())[0, 0, 0] < 64


def test_saturation_zero_gives_grey_luma(rgb: np.ndarray) -> None:
    out = apply_sensor(rgb, {"saturation": 0.0}, rng()).astype(int)
    assert (out[..., 0] == out[..., 1]).all() and (out[..., 1] == out[..., 2]).all()
    luma = rgb.astype(float) @ np.array([0.299, 0.587, 0.114])
    assert np.abs(out[..., 0] - luma).max() <= 1


def test_partial_saturation_shrinks_colour_spread(rgb: np.ndarray) -> None:
    spread = np.ptp(rgb.astype(int), axis=-1)
    out = np.ptp(apply_sensor(rgb, {"saturation": 0.5}, rng()).astype(int), axis=-1)
    assert np.abs(out - spread * 0.5).max() <= 1


def test_saturation_leaves_grey_images_alone(rgb: np.ndarray) -> None:
    grey = rgb[..., 1]
    np.testing.assert_array_equal(apply_sensor(grey, {"saturation": 0.0}, rng()), grey)


@pytest.mark.parametrize("grey", [False, True])
def test_jpeg_changes_bytes_keeps_mean_and_is_deterministic(grey: bool) -> None:
    ys, xs = np.mgrid[0:64, 0:64]
    smooth = np.stack([xs * 4, ys * 4, (xs + ys) * 2], axis=-1).astype(np.uint8)
    image = smooth[..., 0] if grey else smooth
    out = apply_sensor(image, {"jpeg_quality": 30}, rng())
    assert out.shape == image.shape and out.dtype == np.uint8
    assert not np.array_equal(out, image)
    assert out.mean() == pytest.approx(image.mean(), abs=1.0)
    np.testing.assert_array_equal(out, apply_sensor(image, {"jpeg_quality": 30}, rng(5)))
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=30, subsampling=2)
    np.testing.assert_array_equal(out, np.asarray(Image.open(buf)))


def test_all_effects_keep_shape_and_dtype(rgb: np.ndarray) -> None:
    params = {"noise_std": 0.02, "blur_sigma_px": 0.8, "gamma": 1.2, "saturation": 0.8,
              "exposure": 1.2, "jpeg_quality": 85}
    for image in (rgb, rgb[..., 0]):
        out = apply_sensor(image, params, rng())
        assert out.shape == image.shape and out.dtype == np.uint8


@pytest.mark.parametrize("params, pattern", [
    ({"iso": 100}, "iso.*100"),
    ({"gamma": 0}, "gamma.*0"),
    ({"gamma": -1.0}, "gamma.*-1"),
    ({"saturation": 1.5}, "saturation.*1.5"),
    ({"exposure": 0.0}, "exposure.*0"),
    ({"jpeg_quality": 96}, "jpeg_quality.*96"),
    ({"jpeg_quality": 50.5}, "jpeg_quality.*50.5"),
    ({"noise_std": float("nan")}, "noise_std.*nan"),
    ({"blur_sigma_px": -0.5}, "blur_sigma_px.*-0.5"),
    ({"gamma": "2"}, "gamma"),
    ({"exposure": True}, "exposure"),
])
def test_bad_params_are_refused_by_name_and_value(rgb: np.ndarray, params: dict,
                                                   pattern: str) -> None:
    with pytest.raises(GeneratorError, match=pattern):
        apply_sensor(rgb, params, rng())


@pytest.mark.parametrize("image", [np.zeros((8, 8, 4), np.uint8), np.zeros((8, 8), np.float32)])
def test_bad_images_are_refused(image: np.ndarray) -> None:
    with pytest.raises(GeneratorError, match="uint8"):
        apply_sensor(image, {}, rng())
