"""Output formatting: every map resized consistently, exact boxes, grey/invert/levels, and
the real datasets' preprocessing chains against hand-computed outputs."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from curator.ingest.digits import digits_to_uint8
from generators.errors import GeneratorError
from generators.frame import IGNORE_ID, Frame, ObjectLabel
from generators.output import format_frame, levels_table, otsu_threshold


def square_frame() -> Frame:
    """64 x 64: one object covering rows 8..23 fully and columns 11..36 (5/8 of two blocks)."""
    inside = np.zeros((64, 64), dtype=bool)
    inside[8:24, 11:37] = True
    rng = np.random.default_rng(0)
    normals = np.zeros((64, 64, 3), dtype=np.float32)
    normals[inside] = (0.0, 0.0, 1.0)
    return Frame(
        image=rng.integers(0, 256, size=(64, 64, 3), dtype=np.uint8),
        instance_mask=np.where(inside, 5, 0).astype(np.uint16),
        class_mask=np.where(inside, 2, 0).astype(np.uint8),
        matte=inside.astype(np.float32),
        depth=np.where(inside, 2.0, 10.0).astype(np.float32),
        normals=normals,
        objects=[ObjectLabel(5, "mug", 2, (11.0, 8.0, 26.0, 16.0), int(inside.sum()), 0.75,
                             True)],
    )


def test_known_square_downsampled_to_8_gives_the_exact_mask_and_box() -> None:
    out = format_frame(square_frame(), size=8)
    expected = np.zeros((8, 8), dtype=np.uint16)
    expected[1:3, 1:5] = 5  # blocks at columns 1 and 4 are 5/8 covered: majority
    np.testing.assert_array_equal(out.instance_mask, expected)
    np.testing.assert_array_equal(out.class_mask, (expected > 0) * 2)
    (obj,) = out.objects
    assert obj.bbox_xywh == (1.0, 1.0, 4.0, 2.0)
    assert obj.area == 8
    assert (obj.visibility, obj.occluded) == (0.75, True)  # carried over from the input
    assert out.instance_mask.dtype == np.uint16 and out.class_mask.dtype == np.uint8


def test_matte_coverage_equals_area_fraction() -> None:
    frame = square_frame()
    out = format_frame(frame, size=8)
    fraction = frame.matte.reshape(8, 8, 8, 8).mean(axis=(1, 3))
    np.testing.assert_allclose(out.matte, fraction, atol=1e-7)
    assert out.matte[1, 1] == pytest.approx(5 / 8)
    assert out.matte.sum() * 64 == pytest.approx(frame.matte.sum())


def test_depth_is_a_centre_sample_never_an_average() -> None:
    frame = square_frame()
    out = format_frame(frame, size=8)
    np.testing.assert_array_equal(out.depth, frame.depth[4::8, 4::8])
    assert set(np.unique(out.depth)) <= {2.0, 10.0}


def test_normals_are_averaged_then_renormalised() -> None:
    frame = square_frame()
    frame.normals[8:24, 11:37] = 0.0
    frame.normals[8:24, 8:12] = (1.0, 0.0, 0.0)   # left half of block column 1
    frame.normals[8:24, 12:16] = (0.0, 0.0, 1.0)  # right half
    frame.normals[8:24, 16:24] = (0.0, 0.0, 1.0)
    frame.normals[8:16, 24:26] = (0.0, 1.0, 0.0)  # a quarter of block (1, 3) has a surface
    out = format_frame(frame, size=8)
    np.testing.assert_allclose(out.normals[1, 1], np.array([1, 0, 1]) / np.sqrt(2), atol=1e-6)
    np.testing.assert_allclose(out.normals[1, 2], [0, 0, 1], atol=1e-6)
    np.testing.assert_allclose(out.normals[1, 3], [0, 1, 0], atol=1e-6)
    np.testing.assert_array_equal(out.normals[0], 0.0)
    assert out.normals.dtype == np.float32


def test_image_is_area_averaged() -> None:
    frame = square_frame()
    out = format_frame(frame, size=8)
    mean = frame.image.reshape(8, 8, 8, 8, 3).mean(axis=(1, 3))
    assert np.abs(out.image - mean).max() <= 0.5 + 1e-9


def brute_force_vote(inst: np.ndarray, cls: np.ndarray, fh: int, fw: int) -> tuple:
    h, w = inst.shape[0] // fh, inst.shape[1] // fw
    out_i, out_c = np.zeros((h, w), inst.dtype), np.zeros((h, w), cls.dtype)
    for r in range(h):
        for c in range(w):
            block = zip(inst[r * fh:(r + 1) * fh, c * fw:(c + 1) * fw].ravel(),
                        cls[r * fh:(r + 1) * fh, c * fw:(c + 1) * fw].ravel(), strict=True)
            counts = Counter(block)
            best = max(counts.values())
            out_i[r, c], out_c[r, c] = min(k for k, v in counts.items() if v == best)
    return out_i, out_c


@pytest.mark.parametrize("size", [8, (16, 4), (32, 32)])
@pytest.mark.parametrize("n_ids", [2, 4])  # few ids: all pairs counted; more: only those present
def test_masks_vote_like_brute_force_and_stay_aligned(size: int | tuple[int, int],
                                                      n_ids: int) -> None:
    rng = np.random.default_rng(1)
    inst = rng.integers(0, n_ids, size=(64, 64)).astype(np.uint16)
    inst[rng.random((64, 64)) < 0.05] = IGNORE_ID
    class_of = {0: 0, 1: 1, 2: 1, 3: 2, IGNORE_ID: 255}
    cls = np.vectorize(class_of.get)(inst).astype(np.uint8)
    frame = Frame(image=np.zeros((64, 64), np.uint8), instance_mask=inst, class_mask=cls)
    out = format_frame(frame, size=size)
    h, w = out.height, out.width
    exp_i, exp_c = brute_force_vote(inst, cls, 64 // h, 64 // w)
    np.testing.assert_array_equal(out.instance_mask, exp_i)
    np.testing.assert_array_equal(out.class_mask, exp_c)
    np.testing.assert_array_equal(np.vectorize(class_of.get)(out.instance_mask), out.class_mask)


def test_non_integer_factor_uses_centre_samples() -> None:
    rng = np.random.default_rng(2)
    inst = rng.integers(0, 3, size=(30, 45)).astype(np.uint16)
    frame = Frame(image=np.zeros((30, 45, 3), np.uint8), instance_mask=inst,
                  depth=rng.random((30, 45)).astype(np.float32))
    out = format_frame(frame, size=(7, 10))
    rows = ((np.arange(7) + 0.5) * 30 / 7).astype(int)
    cols = ((np.arange(10) + 0.5) * 45 / 10).astype(int)
    np.testing.assert_array_equal(out.instance_mask, inst[np.ix_(rows, cols)])
    np.testing.assert_array_equal(out.depth, frame.depth[np.ix_(rows, cols)])
    assert out.image.shape == (7, 10, 3) and out.class_mask is None


def test_upsampling_repeats_masks() -> None:
    inst = np.arange(16, dtype=np.uint16).reshape(4, 4)
    out = format_frame(Frame(image=np.zeros((4, 4), np.uint8), instance_mask=inst), size=8)
    np.testing.assert_array_equal(out.instance_mask, np.kron(inst, np.ones((2, 2), np.uint16)))


def test_levels_17_gives_the_digits_values() -> None:
    digit_values = digits_to_uint8(np.arange(17))
    frame = Frame(image=np.arange(256, dtype=np.uint8).reshape(16, 16))
    out = format_frame(frame, levels=17)
    assert set(np.unique(out.image)) == set(digit_values.tolist())
    nearest = digit_values[np.abs(np.arange(256)[:, None] - digit_values[None].astype(int))
                           .argmin(axis=1)]
    np.testing.assert_array_equal(out.image.ravel(), nearest)


@pytest.mark.parametrize("levels", [2, 3, 11, 17, 100, 256])
def test_levels_table_values(levels: int) -> None:
    table = levels_table(levels)
    expected = np.round(np.arange(levels) * 255 / (levels - 1))
    np.testing.assert_array_equal(np.unique(table), expected)
    assert np.abs(table.astype(int) - np.arange(256)).max() <= 255 / (levels - 1) / 2 + 0.5


def test_grayscale_is_601_luma() -> None:
    frame = square_frame()
    out = format_frame(frame, grayscale=True)
    assert out.image.shape == (64, 64) and out.image.dtype == np.uint8
    pil = np.asarray(Image.fromarray(frame.image).convert("L")).astype(int)
    assert np.abs(out.image.astype(int) - pil).max() <= 1


def test_invert_then_levels_on_colour() -> None:
    frame = square_frame()
    out = format_frame(frame, invert=True)
    np.testing.assert_array_equal(out.image, 255 - frame.image)
    both = format_frame(frame, invert=True, levels=2)
    np.testing.assert_array_equal(both.image, np.where(255 - frame.image >= 128, 255, 0))


def test_none_size_keeps_everything_and_input_is_untouched() -> None:
    frame = square_frame()
    before = frame.image.copy()
    out = format_frame(frame)
    for name in ("image", "instance_mask", "class_mask", "matte", "depth", "normals"):
        np.testing.assert_array_equal(getattr(out, name), getattr(frame, name))
    assert out.objects[0].bbox_xywh == (11.0, 8.0, 26.0, 16.0)
    grey = format_frame(frame, size=8, grayscale=True, levels=17, invert=True)
    np.testing.assert_array_equal(frame.image, before)
    assert grey.image.shape == (8, 8)


def test_objects_too_small_after_resize_are_dropped() -> None:
    frame = square_frame()
    out = format_frame(frame, size=8, min_pixels=9)
    assert out.objects == [] and out.n_small == 1
    assert set(np.unique(out.instance_mask)) == {0, IGNORE_ID}
    assert set(np.unique(out.class_mask)) == {0, 255}


def test_frame_without_labels() -> None:
    out = format_frame(Frame(image=np.zeros((16, 16, 3), np.uint8)), size=4, grayscale=True)
    assert out.image.shape == (4, 4) and out.instance_mask is None and out.normals is None


@pytest.mark.parametrize("kwargs", [{"size": 0}, {"size": (8,)}, {"size": (8, -1)},
                                    {"size": 8.0}, {"levels": 1}, {"levels": 257},
                                    {"levels": 4.5}, {"levels": True}])
def test_bad_arguments_are_refused(kwargs: dict) -> None:
    with pytest.raises(GeneratorError, match="size|levels"):
        format_frame(square_frame(), **kwargs)


# -- output chains ---------------------------------------------------------------------------
def glyph_frame(glyph: np.ndarray, top: int, left: int, *, ink: int = 230,
                paper: int = 20) -> Frame:
    """64 x 64 grey frame with ``glyph`` (bool) drawn at (top, left); the masks and matte
    are the glyph, depth 2 m on it and 10 m elsewhere."""
    inside = np.zeros((64, 64), dtype=bool)
    inside[top:top + glyph.shape[0], left:left + glyph.shape[1]] = glyph
    normals = np.zeros((64, 64, 3), dtype=np.float32)
    normals[inside] = (0.0, 0.0, 1.0)
    return Frame(
        image=np.where(inside, ink, paper).astype(np.uint8),
        instance_mask=np.where(inside, 3, 0).astype(np.uint16),
        class_mask=np.where(inside, 1, 0).astype(np.uint8),
        matte=inside.astype(np.float32),
        depth=np.where(inside, 2.0, 10.0).astype(np.float32),
        normals=normals,
        objects=[ObjectLabel(3, "7", 1, (0.0, 0.0, 1.0, 1.0), 1, 1.0, False)],
    )


def random_glyph(shape: tuple[int, int], seed: int) -> np.ndarray:
    """Random bool glyph whose bounding box is the whole array (ink in every corner)."""
    glyph = np.random.default_rng(seed).random(shape) < 0.4
    glyph[[0, 0, -1, -1], [0, -1, 0, -1]] = True
    return glyph


def test_default_output_is_byte_identical_to_before_chains() -> None:
    # Digest of this call's maps before output chains existed: the demo's path is unchanged.
    out = format_frame(square_frame(), size=8, grayscale=True, levels=17, invert=True)
    digest = hashlib.sha256()
    for name in ("image", "instance_mask", "class_mask", "matte", "depth", "normals"):
        digest.update(np.ascontiguousarray(getattr(out, name)).tobytes())
    assert digest.hexdigest() == (
        "5b160260b3f31567499a522efe9c65fa4ba86972e3769798f47c270274daada0")
    assert out.objects[0].bbox_xywh == (1.0, 1.0, 4.0, 2.0)


@pytest.mark.parametrize("seed", range(4))
def test_otsu_threshold_minimises_the_within_class_variance(seed: int) -> None:
    rng = np.random.default_rng(seed)
    grey = np.clip(np.r_[rng.normal(40, 15, 300), rng.normal(180, 30, 200)], 0, 255)
    grey = grey.astype(np.uint8)
    within = []  # brute force: weighted variances of the two classes, for every split
    for t in range(255):
        low, high = grey[grey <= t].astype(float), grey[grey > t].astype(float)
        within.append(np.inf if low.size == 0 or high.size == 0 else
                      low.size * low.var() + high.size * high.var())
    t = otsu_threshold(grey)
    assert within[t] == pytest.approx(min(within), rel=1e-9)
    assert 60 < t < 150
    assert otsu_threshold(np.full((4, 4), 7, np.uint8)) is None


def test_sklearn_chain_counts_on_pixels_in_4x4_blocks() -> None:
    glyph = random_glyph((32, 32), seed=0)  # a 32x32 bitmap already: scale 1, no shift
    out = format_frame(glyph_frame(glyph, 10, 7), chain="sklearn_digits", min_pixels=1)
    counts = glyph.reshape(8, 4, 8, 4).sum(axis=(1, 3))
    np.testing.assert_array_equal(out.image, digits_to_uint8(counts))
    assert out.image.dtype == np.uint8 and out.image.shape == (8, 8)
    # Label maps went through the same crop, then 4x4 blocks: masks by majority (ties to
    # background), matte by area.
    np.testing.assert_array_equal(out.instance_mask, np.where(counts > 8, 3, 0))
    np.testing.assert_array_equal(out.class_mask, np.where(counts > 8, 1, 0))
    np.testing.assert_allclose(out.matte * 16, counts, atol=1e-5)
    ys, xs = np.nonzero(counts > 8)
    (obj,) = out.objects
    assert obj.bbox_xywh == (xs.min(), ys.min(), np.ptp(xs) + 1, np.ptp(ys) + 1)
    assert obj.area == (counts > 8).sum()


def test_sklearn_chain_fits_the_box_height_and_centres_it() -> None:
    coarse = random_glyph((32, 12), seed=1)
    glyph = np.kron(coarse, np.ones((2, 2), dtype=bool))  # 64 x 24: halves exactly to 32 x 12
    out = format_frame(glyph_frame(glyph, 0, 20), chain="sklearn_digits")
    bitmap = np.zeros((32, 32), dtype=int)
    bitmap[:, 10:22] = coarse  # (32 - 12) / 2 = 10 columns each side
    np.testing.assert_array_equal(out.image,
                                  digits_to_uint8(bitmap.reshape(8, 4, 8, 4).sum(axis=(1, 3))))


def test_mnist_chain_fits_20_and_centres_the_mass() -> None:
    glyph = np.zeros((40, 30), dtype=bool)  # an L: 40 x 10 bar and a 10 x 20 foot
    glyph[:, :10] = True
    glyph[30:, 10:] = True
    out = format_frame(glyph_frame(glyph, 10, 20), chain="mnist", levels=256, size=28)
    # Scale 1/2 to 20 x 15: bar 20 x 5 (area 100), foot 5 x 10 (area 50); centre of mass
    # row (100 * 9.5 + 50 * 17) / 150 = 12, column (100 * 2 + 50 * 9.5) / 150 = 4.5;
    # shift floor(14 - 12) = 2 rows, floor(14 - 4.5) = 9 columns.
    expected = np.zeros((28, 28), dtype=np.uint8)
    expected[2:22, 9:14] = 255
    expected[17:22, 14:24] = 255
    np.testing.assert_array_equal(out.image, expected)
    assert ndimage.center_of_mass(out.image) == pytest.approx((14.0, 13.5))
    np.testing.assert_array_equal(out.instance_mask, np.where(expected > 0, 3, 0))
    depth = np.zeros((28, 28), np.float32)  # the box's background, no surface outside it
    depth[2:22, 9:24] = 10.0
    np.testing.assert_array_equal(out.depth, np.where(expected > 0, 2.0, depth))
    assert np.array_equal(out.normals[..., 2] == 1, expected > 0)
    assert out.objects[0].bbox_xywh == (9.0, 2.0, 15.0, 20.0)


def test_mnist_chain_anti_aliases_and_centres_any_glyph() -> None:
    yy, xx = np.mgrid[:37, :23]
    disc = (yy - 18) ** 2 / 18 ** 2 + (xx - 11) ** 2 / 11 ** 2 <= 1  # 37 x 23 ellipse
    frame = glyph_frame(disc, 5, 30)
    out = format_frame(frame, chain="mnist")
    assert out.image.shape == (28, 28) and out.image.dtype == np.uint8
    assert len(np.unique(out.image)) > 10  # grey edges, not a bitmap
    rows, cols = np.nonzero(out.image)
    assert np.ptp(rows) + 1 == 20 and np.ptp(cols) + 1 <= 20
    # Exact area coverage: the ink's area scales by (20 / 37) x (12 / 23), up to rounding.
    assert out.image.sum() / 255 == pytest.approx(disc.sum() * 20 / 37 * 12 / 23, abs=1.0)
    assert np.all(np.abs(np.array(ndimage.center_of_mass(out.image)) - 13.5) <= 0.5)
    again = format_frame(frame, chain="mnist")  # deterministic, input untouched
    np.testing.assert_array_equal(again.image, out.image)
    np.testing.assert_array_equal(frame.image, glyph_frame(disc, 5, 30).image)


def test_chain_on_colour_and_inverted_frames_finds_the_same_ink() -> None:
    glyph = random_glyph((32, 32), seed=2)
    bright = glyph_frame(glyph, 3, 3)
    dark_rgb = replace(bright, image=np.repeat((255 - bright.image)[..., None], 3, axis=2))
    want = format_frame(bright, chain="sklearn_digits").image
    np.testing.assert_array_equal(format_frame(dark_rgb, chain="sklearn_digits",
                                               invert=True).image, want)


def test_chain_on_a_blank_frame_is_blank() -> None:
    out = format_frame(Frame(image=np.full((16, 16), 9, np.uint8)), chain="sklearn_digits")
    np.testing.assert_array_equal(out.image, np.zeros((8, 8), np.uint8))


@pytest.mark.parametrize("kwargs, message", [
    ({"chain": "emnist"}, r"output.chain: unknown output chain 'emnist' \(did you mean "
                          r"'mnist'\?\); allowed: mnist, sklearn_digits"),
    ({"chain": 3}, "unknown output chain 3"),
    ({"chain": "mnist", "size": 8}, r"output.size 8 conflicts with chain 'mnist'.*28"),
    ({"chain": "sklearn_digits", "levels": 256}, "output.levels 256 conflicts.*17"),
])
def test_bad_chains_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(GeneratorError, match=message):
        format_frame(square_frame(), **kwargs)
