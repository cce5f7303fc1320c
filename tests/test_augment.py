"""Affine augmentation: labels follow the pixels exactly, normals turn with the image."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from generators.augment import (
    AUGMENT_DEFAULTS,
    IDENTITY,
    AffineParams,
    affine_matrix,
    augment_frame,
    augment_variants,
    sample_affine,
)
from generators.errors import GeneratorError
from generators.frame import IGNORE_CLASS, IGNORE_ID, Frame, ObjectLabel

MAPS = ("image", "instance_mask", "class_mask", "matte", "depth", "normals")
CLASS_OF = {0: 0, 1: 1, 2: 3, IGNORE_ID: IGNORE_CLASS}


def rect_frame(size: int = 64, grey: bool = False, normal: tuple = (1.0, 0.0, 0.0)) -> Frame:
    """One object (id 1, class 1) on rows 10..19, columns 5..39, its normals all ``normal``."""
    rng = np.random.default_rng(0)
    inside = np.zeros((size, size), dtype=bool)
    inside[10:20, 5:40] = True
    normals = np.zeros((size, size, 3), dtype=np.float32)
    normals[inside] = normal
    shape = (size, size) if grey else (size, size, 3)
    return Frame(
        image=rng.integers(0, 256, size=shape, dtype=np.uint8),
        instance_mask=inside.astype(np.uint16),
        class_mask=inside.astype(np.uint8),
        matte=rng.random((size, size), dtype=np.float32),
        depth=np.where(inside, 1.5, 0.0).astype(np.float32),
        normals=normals,
        objects=[ObjectLabel(1, "box", 1, (5.0, 10.0, 35.0, 10.0), 350, 0.9, False)],
    )


def two_object_frame() -> Frame:
    """Two objects of different classes plus an ignore region, for alignment checks."""
    frame = rect_frame()
    inst = frame.instance_mask.copy()
    inst[30:50, 30:45] = 2
    inst[55:58, 2:6] = IGNORE_ID
    cls = np.vectorize(CLASS_OF.get)(inst).astype(np.uint8)
    return Frame(image=frame.image, instance_mask=inst, class_mask=cls, matte=frame.matte,
                 depth=frame.depth, normals=frame.normals,
                 objects=frame.objects + [ObjectLabel(2, "can", 3, (30.0, 30.0, 15.0, 20.0),
                                                      300, 1.0, True)])


def params(rotate_deg: float = 0.0, scale: float = 1.0, shift_x: float = 0.0,
           shift_y: float = 0.0, flip: bool = False) -> AffineParams:
    return AffineParams(rotate_deg, scale, shift_x, shift_y, flip)


@pytest.mark.parametrize("grey", [False, True])
def test_identity_gives_the_identical_frame(grey: bool) -> None:
    frame = rect_frame(grey=grey)
    out = augment_frame(frame, IDENTITY)
    for name in MAPS:
        np.testing.assert_array_equal(getattr(out, name), getattr(frame, name))
        assert getattr(out, name).dtype == getattr(frame, name).dtype
    assert out.objects == frame.objects and out.n_small == 0


def test_rotate_90_gives_the_expected_box_and_maps() -> None:
    frame = rect_frame()
    out = augment_frame(frame, params(rotate_deg=90.0))
    # Counter-clockwise on screen: column x -> row 63 - x, row y -> column y.
    (obj,) = out.objects
    assert obj.bbox_xywh == (10.0, 64 - 40, 10.0, 35.0)
    assert obj.area == 350 and obj.visibility == 0.9
    for name in ("image", "instance_mask", "class_mask", "matte", "depth"):
        np.testing.assert_array_equal(getattr(out, name), np.rot90(getattr(frame, name)))


def test_rotate_90_turns_a_right_facing_normal_up() -> None:
    # A surface facing +x (right) turned a quarter counter-clockwise on screen faces up on
    # screen; normal y points up, so the normal becomes +y.
    out = augment_frame(rect_frame(normal=(1.0, 0.0, 0.0)), params(rotate_deg=90.0))
    on_object = out.instance_mask > 0
    np.testing.assert_allclose(out.normals[on_object], np.tile([0, 1, 0], (350, 1)), atol=1e-7)
    np.testing.assert_array_equal(out.normals[~on_object], 0.0)


@pytest.mark.parametrize("angle", [30.0, -75.0, 180.0])
def test_rotation_turns_normals_by_the_same_angle(angle: float) -> None:
    out = augment_frame(rect_frame(normal=(0.6, 0.0, 0.8)), params(rotate_deg=angle))
    rad = np.radians(angle)
    expected = [0.6 * np.cos(rad), 0.6 * np.sin(rad), 0.8]
    on_object = out.instance_mask > 0
    assert on_object.sum() > 300
    np.testing.assert_allclose(out.normals[on_object], np.tile(expected, (on_object.sum(), 1)),
                               atol=1e-6)


def test_horizontal_flip_mirrors_box_and_negates_normal_x() -> None:
    frame = rect_frame(normal=(0.6, 0.0, 0.8))
    out = augment_frame(frame, params(flip=True))
    (obj,) = out.objects
    assert obj.bbox_xywh == (64 - 40, 10.0, 35.0, 10.0)
    for name in ("image", "instance_mask", "class_mask", "matte", "depth"):
        np.testing.assert_array_equal(getattr(out, name), np.fliplr(getattr(frame, name)))
    expected = np.fliplr(frame.normals) * np.array([-1, 1, 1], dtype=np.float32)
    np.testing.assert_allclose(out.normals, expected, atol=1e-7)


def test_flip_then_rotate_composes() -> None:
    frame = rect_frame(normal=(1.0, 0.0, 0.0))
    out = augment_frame(frame, params(rotate_deg=90.0, flip=True))
    np.testing.assert_array_equal(out.image, np.rot90(np.fliplr(frame.image)))
    # Right-facing flips to left-facing (-x), which a quarter counter-clockwise turns down.
    np.testing.assert_allclose(out.normals[out.instance_mask > 0], np.tile([0, -1, 0], (350, 1)),
                               atol=1e-7)


def test_scale_does_not_change_normal_directions() -> None:
    out = augment_frame(rect_frame(normal=(0.6, 0.0, 0.8)), params(scale=1.3))
    on_object = out.instance_mask > 0
    assert on_object.sum() > 350
    expected = np.tile([0.6, 0.0, 0.8], (on_object.sum(), 1))
    np.testing.assert_allclose(out.normals[on_object], expected, atol=1e-6)


@pytest.mark.parametrize("angle", [30.0, -17.5])
def test_image_rotation_matches_pillow_rotate(angle: float) -> None:
    frame = rect_frame()
    out = augment_frame(frame, params(rotate_deg=angle))
    expected = Image.fromarray(frame.image).rotate(angle, resample=Image.Resampling.BILINEAR)
    np.testing.assert_array_equal(out.image, np.asarray(expected))


def test_shift_moves_content_and_fills_the_gap() -> None:
    frame = rect_frame()
    out = augment_frame(frame, params(shift_x=0.25, shift_y=-0.125), fill=7)
    np.testing.assert_array_equal(out.image[:56, 16:], frame.image[8:, :48])
    assert (out.image[:, :16] == 7).all() and (out.image[56:] == 7).all()
    assert (out.depth[:, :16] == 0).all() and (out.matte[56:] == 0).all()
    assert out.objects[0].bbox_xywh == (21.0, 2.0, 35.0, 10.0)


def test_fill_only_in_the_image_after_a_45_degree_turn() -> None:
    out = augment_frame(rect_frame(grey=True), params(rotate_deg=45.0), fill=200)
    assert out.image.ndim == 2 and out.image[0, 0] == 200
    for name in ("instance_mask", "class_mask", "matte", "depth"):
        assert getattr(out, name)[0, 0] == 0
    assert (out.normals[0, 0] == 0).all()


def test_object_pushed_out_of_frame_is_dropped_and_counted() -> None:
    out = augment_frame(rect_frame(), params(shift_x=1.0))
    assert out.objects == [] and out.n_small == 1
    assert not out.instance_mask.any()


def test_object_shrunk_below_min_pixels_becomes_ignore() -> None:
    out = augment_frame(rect_frame(), params(scale=0.25), min_pixels=30)
    assert out.objects == [] and out.n_small == 1
    assert set(np.unique(out.instance_mask)) == {0, IGNORE_ID}
    assert set(np.unique(out.class_mask)) == {0, IGNORE_CLASS}


def test_class_and_instance_masks_stay_aligned() -> None:
    frame = two_object_frame()
    ranges = {"rotate_deg": (-180.0, 180.0), "scale": (0.5, 1.5), "shift_frac": (-0.3, 0.3)}
    variants = augment_variants(frame, 12, np.random.default_rng(3), ranges)
    for _, out in variants:
        lookup = np.vectorize(CLASS_OF.get)(out.instance_mask)
        np.testing.assert_array_equal(out.class_mask, lookup)
        np.testing.assert_array_equal(out.depth > 0, out.instance_mask == 1)
        for obj in out.objects:
            ys, xs = np.nonzero(out.instance_mask == obj.instance_id)
            assert obj.bbox_xywh == (xs.min(), ys.min(), np.ptp(xs) + 1, np.ptp(ys) + 1)
            assert obj.area == xs.size


def test_variants_are_deterministic_per_seed() -> None:
    frame = rect_frame()
    a = augment_variants(frame, 4, np.random.default_rng(11))
    b = augment_variants(frame, 4, np.random.default_rng(11))
    c = augment_variants(frame, 4, np.random.default_rng(12))
    assert [p for p, _ in a] == [p for p, _ in b] != [p for p, _ in c]
    for (_, fa), (_, fb) in zip(a, b, strict=True):
        for name in MAPS:
            np.testing.assert_array_equal(getattr(fa, name), getattr(fb, name))
    assert augment_variants(frame, 0, np.random.default_rng(0)) == []


def test_sample_affine_stays_inside_the_ranges() -> None:
    rng = np.random.default_rng(5)
    drawn = [sample_affine(rng) for _ in range(300)]
    rot, scale, shift = AUGMENT_DEFAULTS["rotate_deg"], AUGMENT_DEFAULTS["scale"], \
        AUGMENT_DEFAULTS["shift_frac"]
    assert all(rot[0] <= p.rotate_deg <= rot[1] for p in drawn)
    assert all(scale[0] <= p.scale <= scale[1] for p in drawn)
    assert all(shift[0] <= v <= shift[1] for p in drawn for v in (p.shift_x_frac,
                                                                   p.shift_y_frac))
    assert 100 < sum(p.flip_h for p in drawn) < 200
    fixed = sample_affine(rng, {"rotate_deg": (90, 90), "scale": [2, 2], "shift_frac": (0, 0),
                                "flip_h": 1.0})
    assert fixed == AffineParams(90.0, 2.0, 0.0, 0.0, True)


def test_affine_matrix_convention() -> None:
    m = affine_matrix(params(rotate_deg=90.0, shift_x=0.5), width=40, height=20)
    centre = np.array([20.0, 10.0, 1.0])
    np.testing.assert_allclose(m @ centre, [40.0, 10.0, 1.0])
    # A point right of the centre ends up above it (y down): counter-clockwise on screen.
    np.testing.assert_allclose(m @ (centre + [5, 0, 0]) - m @ centre, [0, -5, 0], atol=1e-12)


@pytest.mark.parametrize("ranges, pattern", [
    ({"rotate_deg": (10, -10)}, "rotate_deg.*inverted"),
    ({"scale": (0.0, 1.0)}, "scale"),
    ({"shift_frac": 0.1}, "shift_frac.*pair"),
    ({"flip_h": 1.5}, "flip_h.*1.5"),
    ({"shear": (0, 1)}, "shear"),
    ({"scale": (1.0, float("inf"))}, "scale"),
])
def test_bad_ranges_are_refused(ranges: dict, pattern: str) -> None:
    with pytest.raises(GeneratorError, match=pattern):
        sample_affine(np.random.default_rng(0), ranges)


def test_bad_arguments_are_refused() -> None:
    frame = rect_frame()
    with pytest.raises(GeneratorError, match="fill"):
        augment_frame(frame, IDENTITY, fill=300)
    with pytest.raises(GeneratorError, match="scale"):
        augment_frame(frame, params(scale=0.0))
    with pytest.raises(GeneratorError, match="n >= 0"):
        augment_variants(frame, -1, np.random.default_rng(0))


def test_frame_without_labels() -> None:
    image = np.random.default_rng(0).integers(0, 256, size=(32, 48, 3), dtype=np.uint8)
    out = augment_frame(Frame(image=image), params(rotate_deg=10.0, flip=True))
    assert out.image.shape == (32, 48, 3) and out.instance_mask is None and out.objects == []
