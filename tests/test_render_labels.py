"""Label correctness on hand-built scenes, rendered for real with pyrender (EGL, Mesa)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from generators.assets import AssetCatalog
from generators.labels import frame_from_buffers
from generators.render import SceneRenderer
from generators.rows import decode_frame, encode_frame
from generators.scene import (
    Background,
    Camera,
    Light,
    Material,
    SceneObject,
    SceneSpec,
    _pose,
    look_at,
    rotation,
)

GREY = Material((0.6, 0.6, 0.6), 0.5, 0.0)


@pytest.fixture(scope="module")
def renderer():
    r = SceneRenderer(AssetCatalog.builtin(), threads=1)
    yield r
    r.close()


YFOV = math.radians(40)


def _camera(eye, target=(0.0, 0.0, 0.0), yfov=YFOV) -> Camera:
    eye = np.asarray(eye, float)
    return Camera(_pose(look_at(eye, np.asarray(target, float)), eye), yfov)


def _spec(objects, camera, size=96) -> SceneSpec:
    light = Light((0.0, 0.0, -1.0), (1.0, 1.0, 1.0), 3.0)
    return SceneSpec(size, size, tuple(objects), (light,), 0.3, camera,
                     Background("flat", ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0))), {})


def _target(asset="cube", pos=(0.0, 0.0, 0.0), scale=1.0, rot=None, iid=1) -> SceneObject:
    rot = np.eye(3) if rot is None else rot
    return SceneObject(asset, "target", _pose(rot, pos, scale), scale, GREY, instance_id=iid,
                       label=asset, class_index=iid)


def _wall(z: float) -> SceneObject:
    # The ground quad turned to face +Z: a plane at depth z filling the view.
    return SceneObject("ground", "ground", _pose(rotation(0, 90, 0), (0, 0, z)), 1.0, GREY)


def _frame(renderer, spec, min_pixels=1):
    return frame_from_buffers(spec, renderer.render(spec), min_pixels=min_pixels)


def test_mask_area_box_and_matte_match_the_rendered_object(renderer):
    spec = _spec([_target(pos=(0.3, -0.2, 0.0), rot=rotation(30, 20, 0))], _camera((0, 0, 4)))
    frame = _frame(renderer, spec)
    (obj,) = frame.objects
    mask = frame.instance_mask == 1
    # The mask is where the object was rendered: the lit pass's coverage agrees, except for
    # anti-aliased edge pixels.
    covered = frame.matte >= 0.5
    assert obj.area == int(mask.sum()) > 300
    assert np.count_nonzero(mask ^ covered) <= 0.05 * obj.area
    ys, xs = np.nonzero(mask)
    assert obj.bbox_xywh == (xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1)
    assert obj.visibility == 1.0 and not obj.occluded
    # Soft matte: 1 inside, 0 far outside, fractional coverage along the silhouette.
    assert frame.matte[mask].mean() > 0.95
    assert frame.matte[~mask & (frame.depth == 0)].max() < 1.0
    assert ((frame.matte > 0.05) & (frame.matte < 0.95)).sum() > 10
    # Class mask agrees with the instance mask.
    assert np.array_equal(frame.class_mask == 1, mask)


@pytest.mark.parametrize("distance", [2.0, 3.7])
def test_depth_and_normals_of_a_plane_facing_the_camera(renderer, distance):
    spec = _spec([_wall(0.0)], _camera((0, 0, distance)))
    frame = _frame(renderer, spec)
    assert np.all(frame.depth > 0)
    np.testing.assert_allclose(frame.depth, distance, atol=1e-3)
    np.testing.assert_allclose(frame.normals.reshape(-1, 3), [[0, 0, 1]] * 96 * 96, atol=0.01)


def test_normals_and_depth_of_a_plane_seen_from_the_side(renderer):
    # Camera turned 30° about the vertical: the wall normal in camera coordinates is
    # (-sin 30°, 0, cos 30°) for a camera at +x looking back at the origin.
    yaw = math.radians(30)
    eye = (3 * math.sin(yaw), 0.0, 3 * math.cos(yaw))
    frame = _frame(renderer, _spec([_wall(0.0)], _camera(eye)))
    centre = frame.normals[40:56, 40:56].reshape(-1, 3)
    np.testing.assert_allclose(centre, [[-math.sin(yaw), 0, math.cos(yaw)]] * len(centre),
                               atol=0.02)
    # Depth along the optical axis grows from one side of the image to the other.
    row = frame.depth[48]
    assert row[0] != pytest.approx(row[-1], abs=0.05)
    # The optical axis passes between the four centre pixels.
    assert frame.depth[47:49, 47:49].mean() == pytest.approx(3.0, abs=2e-3)


def test_visibility_of_a_half_occluded_object(renderer):
    target = _target(pos=(0.0, 0.0, 0.0))
    # A big box whose right edge projects onto the target's vertical centre line.
    occluder = SceneObject("cube", "occluder", _pose(np.eye(3), (-1.5, 0.0, 2.5), 3.0), 3.0,
                           GREY)
    frame = _frame(renderer, _spec([target, occluder], _camera((0, 0, 6))))
    (obj,) = frame.objects
    assert obj.visibility == pytest.approx(0.5, abs=0.03)
    assert obj.occluded
    # The unoccluded object alone covers about twice as many pixels.
    alone = _frame(renderer, _spec([target], _camera((0, 0, 6))))
    assert alone.objects[0].area == pytest.approx(2 * obj.area, rel=0.06)


def test_objects_below_min_pixels_are_flagged_not_emitted(renderer):
    tiny = _target(pos=(0.0, 0.0, 0.0), scale=0.05)
    big = _target(pos=(1.0, 0.0, 0.0), iid=2)
    frame = _frame(renderer, _spec([tiny, big], _camera((0, 0, 6))), min_pixels=20)
    assert [o.instance_id for o in frame.objects] == [2]
    assert frame.n_small == 1
    assert np.count_nonzero(frame.instance_mask == 1) == 0  # never an empty-labelled mask
    assert np.count_nonzero(frame.instance_mask == 65535) > 0  # its pixels are "ignore"
    assert all(o.area > 0 and o.bbox_xywh[2] > 0 for o in frame.objects)


def test_rows_round_trip_every_label_map(renderer):
    spec = _spec([_target(rot=rotation(20, 10, 5))], _camera((0, 0.5, 4)))
    frame = _frame(renderer, spec)
    row = encode_frame(frame)
    back = decode_frame(row, frame.image, ["cube"])
    assert np.array_equal(back.instance_mask, frame.instance_mask)
    assert np.array_equal(back.class_mask, frame.class_mask)
    np.testing.assert_allclose(back.depth, frame.depth, atol=6e-4)  # millimetre PNG
    np.testing.assert_allclose(back.matte, frame.matte, atol=1 / 255)
    np.testing.assert_allclose(back.normals, frame.normals, atol=0.02)
    assert back.objects[0].bbox_xywh == frame.objects[0].bbox_xywh


def test_rendering_is_bitwise_repeatable_with_many_lights_and_meshes():
    # pyrender keeps lights and meshes in sets (ordered by object id); without a fixed
    # order, the summation order of light contributions flips the last bit of some pixels.
    from generators.recipe import load_recipe
    from generators.scene import resolve_assets, sample_scene, sample_seed

    recipe = load_recipe("objects", {"size": 48})
    assets = resolve_assets(recipe, AssetCatalog.builtin())
    spec = sample_scene(recipe, assets, sample_seed(3, 2))  # 3 lights, 4 meshes
    assert len(spec.lights) > 1
    colors = []
    for _ in range(10):
        r = SceneRenderer(AssetCatalog.builtin(), threads=1)
        colors.append(r.render(spec).color)
        r.close()
    assert all(np.array_equal(colors[0], c) for c in colors[1:])


def test_skipping_the_unoccluded_pass_never_changes_visibility():
    from generators.recipe import load_recipe
    from generators.scene import resolve_assets, sample_scene, sample_seed

    recipe = load_recipe("objects", {"size": 64, "randomizers": {
        "occluders": {"count": [0, 2]}, "distractors": {"count": [2, 4]}}})
    assets = resolve_assets(recipe, AssetCatalog.builtin())
    fast, exact = (SceneRenderer(AssetCatalog.builtin(), threads=0) for _ in range(2))
    exact.skip_unneeded_passes = False
    occluded = 0
    for i in range(30):
        spec = sample_scene(recipe, assets, sample_seed(11, i))
        a, b = fast.render(spec), exact.render(spec)
        assert a.amodal_area == b.amodal_area
        occluded += sum(b.amodal_area[t.instance_id] > np.count_nonzero(b.ids == t.instance_id)
                        for t in spec.targets)
    assert occluded > 3  # the scenes did have occlusions to get right
    fast.close()
    exact.close()
