"""Output formatting: every map resized consistently, exact boxes, grey/invert/levels."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from PIL import Image

from curator.ingest.digits import digits_to_uint8
from generators.errors import GeneratorError
from generators.frame import IGNORE_ID, Frame, ObjectLabel
from generators.output import format_frame, levels_table


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
