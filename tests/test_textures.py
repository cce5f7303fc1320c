"""Procedural textures: shapes, determinism per seed, colours used, smoothness, errors."""

from __future__ import annotations

import numpy as np
import pytest

from curator.errors import CuratorError
from generators.errors import GeneratorError
from generators.textures import TEXTURE_KINDS, make_texture

HARD_KINDS = ("checker", "stripes", "dots")


@pytest.mark.parametrize("kind", TEXTURE_KINDS)
@pytest.mark.parametrize("size", [1, 7, 128])
def test_shape_and_dtype(kind: str, size: int) -> None:
    tex = make_texture(kind, size, np.random.default_rng(0))
    assert tex.shape == (size, size, 3)
    assert tex.dtype == np.uint8


@pytest.mark.parametrize("kind", TEXTURE_KINDS)
def test_same_seed_same_texture_other_seed_differs(kind: str) -> None:
    a = make_texture(kind, 64, np.random.default_rng(7))
    b = make_texture(kind, 64, np.random.default_rng(7))
    c = make_texture(kind, 64, np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("kind", TEXTURE_KINDS)
def test_given_colors_keep_the_geometry_of_the_seed(kind: str) -> None:
    drawn = np.random.default_rng(3).integers(0, 256, size=(2, 3))
    np.testing.assert_array_equal(
        make_texture(kind, 48, np.random.default_rng(3)),
        make_texture(kind, 48, np.random.default_rng(3), colors=drawn))


@pytest.mark.parametrize("kind", HARD_KINDS)
def test_hard_patterns_use_exactly_the_two_colors(kind: str) -> None:
    colors = np.array([[10, 20, 30], [200, 150, 100]])
    tex = make_texture(kind, 96, np.random.default_rng(1), colors=colors)
    found = {tuple(c) for c in np.unique(tex.reshape(-1, 3), axis=0)}
    assert found == {(10, 20, 30), (200, 150, 100)}


@pytest.mark.parametrize("kind", ["noise", "gradient"])
def test_smooth_kinds_stay_between_the_colors(kind: str) -> None:
    colors = np.array([[0, 100, 255], [255, 100, 0]])
    tex = make_texture(kind, 64, np.random.default_rng(2), colors=colors).astype(int)
    assert (tex[..., 1] == 100).all()
    # Blend of the two colours: red + blue stays 255 up to rounding.
    assert np.abs(tex[..., 0] + tex[..., 2] - 255).max() <= 1
    assert len(np.unique(tex[..., 0])) > 20


def test_noise_is_smooth() -> None:
    colors = np.array([[0, 0, 0], [255, 255, 255]])
    tex = make_texture("noise", 128, np.random.default_rng(4), colors=colors)[..., 0].astype(float)
    white = np.random.default_rng(4).uniform(0, 255, size=tex.shape)
    step = np.abs(np.diff(tex, axis=1)).mean()
    assert step < 0.05 * np.abs(np.diff(white, axis=1)).mean()
    assert tex.std() > 10


def test_gradient_is_linear_in_x_and_y() -> None:
    colors = np.array([[0, 0, 0], [255, 255, 255]])
    tex = make_texture("gradient", 64, np.random.default_rng(5), colors=colors)[..., 0]
    ys, xs = np.mgrid[0:64, 0:64]
    design = np.column_stack([xs.ravel(), ys.ravel(), np.ones(xs.size)])
    coef, *_ = np.linalg.lstsq(design, tex.ravel().astype(float), rcond=None)
    assert np.abs(design @ coef - tex.ravel()).max() <= 0.51
    assert tex.min() <= 2 and tex.max() >= 253


def test_unknown_kind_names_it_and_the_valid_ones() -> None:
    with pytest.raises(GeneratorError, match="marble.*checker, stripes, noise, dots, gradient"):
        make_texture("marble", 8, np.random.default_rng(0))
    assert issubclass(GeneratorError, CuratorError)


@pytest.mark.parametrize("colors", [np.zeros((3, 3)), np.full((2, 3), 256), np.zeros(6)])
def test_bad_colors_are_refused(colors: np.ndarray) -> None:
    with pytest.raises(GeneratorError, match="colors"):
        make_texture("checker", 8, np.random.default_rng(0), colors=colors)


@pytest.mark.parametrize("size", [0, -3, 2.5, True])
def test_bad_size_is_refused(size: object) -> None:
    with pytest.raises(GeneratorError, match="size"):
        make_texture("checker", size, np.random.default_rng(0))  # type: ignore[arg-type]
