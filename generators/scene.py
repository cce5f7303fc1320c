"""Scene descriptions: sample one scene from a recipe and a per-sample seed (pure, no GL).

Every random choice comes from one per-sample seed; each randomizer draws from its own
child stream of it, so holding one randomizer fixed (an ablation) leaves the others' draws
unchanged: the ablation series differ in one factor only. The draws themselves live in
:mod:`generators.randomizers`; this module calls them in a fixed order.
"""

from __future__ import annotations

import colorsys
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from generators.assets import Asset, AssetCatalog, build_mesh
from generators.errors import RecipeError
from generators.glyphs import shaped_glyph_mesh
from generators.randomizers import (
    choice,
    draw,
    glyph_attributes,
    glyph_shape,
    hsv,
    kelvin_to_rgb,
    light,
    material,
    place,
    stream,
    wrong_material,
)
from generators.recipe import Recipe
from generators.scene_spec import (
    Background,
    Camera,
    GlyphShape,
    Light,
    Material,
    SceneObject,
    SceneSpec,
)
from generators.textures import TEXTURE_KINDS

# The scene description types live in generators.scene_spec; they are named here too.
__all__ = [
    "Background", "Camera", "GlyphShape", "Light", "Material", "SceneObject", "SceneSpec",
    "class_names", "look_at", "resolve_assets", "rotation", "sample_scene", "sample_seed",
    "stream", "world_corners",
]

SENSOR_HEIGHT_MM = 24.0  # full-frame sensor height: focal length -> vertical field of view


# -- seeds ---------------------------------------------------------------------------------
def sample_seed(run_seed: int, index: int) -> int:
    """The seed of sample ``index`` of a run: stable, independent of worker count or order."""
    ss = np.random.SeedSequence(entropy=int(run_seed), spawn_key=(int(index),))
    return int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1))  # fits int64


# -- geometry --------------------------------------------------------------------------------
def rotation(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    """3×3 rotation: yaw about +Y (up), then pitch about +X, then roll about +Z (view)."""
    y, p, r = (math.radians(a) for a in (yaw_deg, pitch_deg, roll_deg))
    ry = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    rx = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    rz = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    return ry @ rx @ rz


def _pose(rot: np.ndarray, translation: Sequence[float], scale: float = 1.0) -> tuple:
    m = np.eye(4)
    m[:3, :3] = rot * scale
    m[:3, 3] = translation
    return tuple(tuple(float(v) for v in row) for row in m)


def look_at(eye: np.ndarray, target: np.ndarray, roll_deg: float = 0.0) -> np.ndarray:
    """Camera-to-world rotation looking from ``eye`` at ``target`` (+Y up), then rolled."""
    back = eye - target
    back = back / np.linalg.norm(back)
    up = np.array([0.0, 1.0, 0.0])
    if abs(float(back @ up)) > 0.999:  # looking straight down/up: pick another up vector
        up = np.array([0.0, 0.0, -1.0])
    right = np.cross(up, back)
    right /= np.linalg.norm(right)
    true_up = np.cross(back, right)
    rot = np.stack([right, true_up, back], axis=1)
    return rot @ rotation(0.0, 0.0, roll_deg)


# -- sampling --------------------------------------------------------------------------------
def resolve_assets(recipe: Recipe, catalog: AssetCatalog) -> dict[str, list[Asset]]:
    """Assets each scene role may use; raises :class:`RecipeError` if a query finds none."""
    scene = recipe.config["scene"]
    out: dict[str, list[Asset]] = {}
    for role, query, needed in (
        ("target", scene["objects"]["query"], True),
        ("distractor", scene["distractors"], recipe.is_enabled("distractors")),
        ("occluder", scene["occluders"], recipe.is_enabled("occluders")),
    ):
        found = catalog.query(**query)
        if not found and needed:
            labels = ", ".join(catalog.labels[:20])
            raise RecipeError(f"recipe {recipe.name!r}: the {role} query {dict(query)} matches "
                              f"no asset in the catalog (labels: {labels})")
        out[role] = found
    return out


def class_names(assets: Mapping[str, list[Asset]]) -> list[str]:
    """Sorted labels of the target assets; class index k>0 means ``class_names[k-1]``."""
    return sorted({a.label for a in assets["target"]})


def _unit_bounds(asset: Asset, root: str | None = None, shape: GlyphShape | None = None
                 ) -> np.ndarray:
    """2×3 bounds of the asset's unit mesh (longest extent 1), cached per asset."""
    if shape is not None:  # drawn per sample: the mesh itself is cached for the renderer
        return np.asarray(shaped_glyph_mesh(asset, shape).bounds, dtype=float)
    key = (asset.asset_id, json.dumps(dict(asset.params), sort_keys=True), str(root))
    bounds = _BOUNDS.get(key)
    if bounds is None:
        bounds = _BOUNDS[key] = np.asarray(build_mesh(asset, root=root).bounds, dtype=float)
    return bounds


_BOUNDS: dict[tuple[str, str, str], np.ndarray] = {}


def world_corners(bounds: np.ndarray, pose: Any) -> np.ndarray:
    """The 8 corners of an object-space box (2×3 bounds) placed by a 4×4 pose."""
    m = np.asarray(pose)
    corners = np.array([[x, y, z] for x in bounds[:, 0] for y in bounds[:, 1]
                        for z in bounds[:, 2]])
    return corners @ m[:3, :3].T + m[:3, 3]


def sample_scene(recipe: Recipe, assets: Mapping[str, list[Asset]], seed: int, *,
                 background_pool: int = 0, asset_root: str | None = None) -> SceneSpec:
    """Describe one scene: objects, poses, materials, lights, camera, background, sensor.

    ``asset_root`` is the folder relative mesh paths of user assets are resolved in.
    """
    cfg = recipe.config
    scene_cfg = cfg["scene"]
    classes = class_names(assets)
    on = {name: recipe.is_enabled(name) for name in cfg["randomizers"]}
    attrs: dict[str, Any] = {}

    # Content: how many labelled objects, which assets, what size (always varies).
    rng = stream(seed, "scene")
    lo, hi = scene_cfg["objects"]["count"]
    k = int(rng.integers(max(lo, 1), hi + 1))
    # Class first, then one of its assets: classes stay balanced however many assets each has.
    by_class = {c: [a for a in assets["target"] if a.label == c] for c in classes}
    chosen = [choice(rng, by_class[choice(rng, classes)]) for _ in range(k)]
    size_range = scene_cfg["objects"]["size_m"]
    sizes = [float(rng.uniform(*(size_range or a.size_range_m))) for a in chosen]

    # Pose: rotation and placement of each labelled object.
    rng = stream(seed, "pose")
    pp = recipe.params("pose")
    radius = scene_cfg["placement_radius_m"]
    ground = scene_cfg["ground"]
    objects: list[SceneObject] = []
    placed: list[tuple[np.ndarray, float]] = []
    rng_mat = stream(seed, "materials")
    # The glyph randomizer only where the recipe names it: older recipes draw as before.
    glyphs = "glyph" in cfg["randomizers"]
    rng_glyph = stream(seed, "glyph")
    for i, (asset, size) in enumerate(zip(chosen, sizes, strict=True)):
        angles = [draw(rng, pp[n], on["pose"]) for n in ("yaw_deg", "pitch_deg", "roll_deg")]
        rot = rotation(*angles)
        xz = place(rng, i, k, radius, size, placed, on["pose"])
        shape = glyph_shape(rng_glyph, recipe, asset, on["glyph"]) if glyphs else None
        if glyphs and i == 0:
            attrs.update(glyph_attributes(shape, asset))
        shape = None if shape is None or shape.is_identity else shape
        bounds = _unit_bounds(asset, asset_root, shape) * size
        lowest = float(world_corners(bounds, _pose(rot, (0, 0, 0)))[:, 1].min())
        y = -lowest + 1e-3 if ground else 0.0
        pos = np.array([xz[0], y, xz[1]])
        placed.append((pos, size))
        if i == 0:
            attrs.update(pose_yaw_deg=angles[0], pose_pitch_deg=angles[1],
                         pose_roll_deg=angles[2], asset_id=asset.asset_id, obj_size_m=size)
        objects.append(SceneObject(
            asset.asset_id, "target", _pose(rot, pos, size), size,
            material(rng_mat, recipe, asset, on["materials"]), instance_id=i + 1,
            label=asset.label, class_index=classes.index(asset.label) + 1, shape=shape))
    first = objects[0].material
    attrs.update(n_objects=k, mat_hue=colorsys.rgb_to_hsv(*first.rgb)[0],
                 mat_roughness=first.roughness, mat_metallic=first.metallic,
                 mat_texture=first.texture or "none")
    centre = np.mean([p for p, _ in placed], axis=0)

    # Camera: orbit the scene centre.
    rng = stream(seed, "camera")
    cp = recipe.params("camera")
    dist, yaw, pitch, roll, focal = (draw(rng, cp[n], on["camera"]) for n in
                                     ("distance_m", "yaw_deg", "pitch_deg", "roll_deg",
                                      "focal_mm"))
    # Yaw turns the camera around the scene, pitch is its elevation above the horizon.
    cy, sy = math.cos(math.radians(yaw)), math.sin(math.radians(yaw))
    cp_, sp_ = math.cos(math.radians(pitch)), math.sin(math.radians(pitch))
    direction = np.array([sy * cp_, sp_, cy * cp_])
    eye = centre + dist * direction
    cam_rot = look_at(eye, centre, roll)
    yfov = 2 * math.atan(SENSOR_HEIGHT_MM / 2 / focal)
    camera = Camera(_pose(cam_rot, eye), yfov)
    attrs.update(cam_distance_m=dist, cam_yaw_deg=yaw, cam_pitch_deg=pitch,
                 cam_roll_deg=roll, cam_focal_mm=focal)

    # Distractors: extra unlabelled objects with wrong textures around the targets.
    rng = stream(seed, "distractors")
    n_distr = draw(rng, recipe.params("distractors")["count"], on["distractors"], kind="int")
    scale = float(np.mean(sizes))
    for _ in range(n_distr if assets["distractor"] else 0):
        asset = choice(rng, assets["distractor"])
        size = scale * float(rng.uniform(0.3, 0.8))
        rot = rotation(*rng.uniform(-180, 180, 3))
        if ground:
            ang, r = rng.uniform(0, 2 * math.pi), radius + scale * rng.uniform(0.6, 2.0)
            bounds = _unit_bounds(asset, asset_root) * size
            low = float(world_corners(bounds, _pose(rot, (0, 0, 0)))[:, 1].min())
            pos = centre + np.array([r * math.cos(ang), 0, r * math.sin(ang)])
            pos[1] = -low + 1e-3
        else:  # in the frame, behind or beside the target plane
            pos = centre + np.array([rng.uniform(-1, 1) * scale, rng.uniform(-1, 1) * scale,
                                     -rng.uniform(0.5, 1.5) * scale])
        objects.append(SceneObject(asset.asset_id, "distractor", _pose(rot, pos, size), size,
                                   wrong_material(rng)))
    attrs["n_distractors"] = int(n_distr if assets["distractor"] else 0)

    # Occluders: objects between the camera and a target, partly covering it.
    rng = stream(seed, "occluders")
    n_occ = draw(rng, recipe.params("occluders")["count"], on["occluders"], kind="int")
    for _ in range(n_occ if assets["occluder"] else 0):
        asset = choice(rng, assets["occluder"])
        target_pos, target_size = placed[int(rng.integers(len(placed)))]
        t = float(rng.uniform(0.25, 0.5))
        side = cam_rot[:, 0] * rng.uniform(-0.6, 0.6) * target_size
        up = cam_rot[:, 1] * rng.uniform(-0.4, 0.4) * target_size
        pos = target_pos + t * (eye - target_pos) + side + up
        size = target_size * float(rng.uniform(0.35, 0.7)) * (1 - t)
        rot = rotation(*rng.uniform(-180, 180, 3))
        objects.append(SceneObject(asset.asset_id, "occluder", _pose(rot, pos, size), size,
                                   wrong_material(rng)))
    attrs["n_occluders"] = int(n_occ if assets["occluder"] else 0)

    # Lighting: key light in the camera frame plus fill lights.
    rng = stream(seed, "lighting")
    lp = recipe.params("lighting")
    count = draw(rng, lp["count"], on["lighting"], kind="int")
    az, el, inten, temp, amb = (draw(rng, lp[n], on["lighting"]) for n in
                                ("azimuth_deg", "elevation_deg", "intensity", "color_temp_k",
                                 "ambient"))
    lights = [light(cam_rot, az, el, kelvin_to_rgb(temp), inten)]
    for _ in range(count - 1):
        lights.append(light(cam_rot, float(rng.uniform(-180, 180)), float(rng.uniform(0, 80)),
                             kelvin_to_rgb(float(rng.uniform(*lp["color_temp_k"]["range"]))),
                             inten * float(rng.uniform(0.2, 0.6))))
    attrs.update(light_count=count, light_azimuth_deg=az, light_elevation_deg=el,
                 light_intensity=inten, color_temp_k=temp, light_ambient=amb)

    # Background behind everything (above the horizon in ground scenes).
    rng = stream(seed, "background")
    bp = recipe.params("background")
    kinds = bp["kinds"]["range"] if on["background"] else (bp["kinds"]["held"] or ("flat",))
    kind = choice(rng, kinds) if on["background"] else kinds[0]
    hue, sat, val = (draw(rng, bp[n], on["background"]) for n in
                     ("hue", "saturation", "value"))
    colors = (hsv(hue, sat, val), hsv(float(rng.uniform()) if on["background"] else hue,
                                        sat, float(np.clip(val + rng.uniform(-0.3, 0.3), 0, 1))
                                        if on["background"] else val))
    texture = choice(rng, TEXTURE_KINDS) if kind == "texture" else None
    bg_seed = int(rng.integers(2**31))
    image_index = -1
    if kind == "workspace":
        if background_pool <= 0:
            raise RecipeError("background kind 'workspace' needs real images in the workspace "
                              "(ingest some first, or remove 'workspace' from background.kinds)")
        image_index = int(rng.integers(background_pool))
    background = Background(kind, colors, texture, bg_seed, image_index)
    if ground:  # the floor takes the background's second colour (and texture)
        floor = Material(colors[1], 0.9, 0.0, texture, bg_seed + 1 if texture else 0)
        objects.append(SceneObject("ground", "ground", _pose(np.eye(3), (0, 0, 0), 1.0), 1.0,
                                   floor))
    attrs.update(bg_kind=kind, bg_hue=hue, bg_saturation=sat, bg_value=val)

    # Sensor: camera effects applied after rendering.
    rng = stream(seed, "sensor")
    sp = recipe.params("sensor")
    sensor = {n: draw(rng, sp[n], on["sensor"], kind="int" if n == "jpeg_quality" else "float")
              for n in sp}
    attrs.update({f"sensor_{n}": v for n, v in sensor.items()})
    attrs["gen_classes"] = json.dumps(classes)
    h, w = recipe.size
    return SceneSpec(h, w, tuple(objects), tuple(lights), float(amb), camera, background,
                     sensor, attrs)
