"""The glyph randomizer: outline operations (stroke, slant, aspect, elastic), its recipe
ranges, determinism, ablation, recorded columns, and recipes without it left unchanged."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np
import pytest
from shapely.geometry import Polygon, box

from curator import init_workspace
from curator.workflows.param_oversample import PARAM_COLUMNS
from generators.assets import AssetCatalog, extrude_outline, glyph_outline
from generators.errors import RecipeError
from generators.glyphs import (
    GLYPH_FONTS,
    deform_outline,
    elastic,
    elastic_displacement,
    extrude_flat,
    offset_stroke,
    shaped_glyph_mesh,
    slant_and_aspect,
    unit_outline,
)
from generators.recipe import load_recipe
from generators.requests import COLUMN_PARAMS, request_overrides
from generators.run import generate, render_preview
from generators.scene import GlyphShape, resolve_assets, sample_scene

GLYPH_COLUMNS = ("glyph_stroke", "glyph_slant_deg", "glyph_aspect", "glyph_elastic",
                 "glyph_elastic_scale", "glyph_font")
KNOBS = {"stroke": [-0.03, 0.03], "slant_deg": [-15, 15], "aspect": [0.7, 1.0],
         "elastic": [0.0, 0.03], "fonts": ["DejaVuSans.ttf", "DejaVuSerif.ttf", "cmr10.ttf"]}
# Pixels of samples 0..3 (seed 0) from before the glyph randomizer existed: recipes that do
# not name it render exactly as they did.
BEFORE = {
    "digits3d": ("6b654948d75f538b",
                 "6bcbe5ec350b8e0d5ba5424132b24f56c543855148b771b94daa2bffe36c4ea2"),
    "objects": ("34d9b0d9f60cb0f5",
                "2f2372b3bb7e45201acd659ae6a1513ad140153a85f87a61f57b8b7e1c6aee91"),
}
MAPS = ("image", "instance_mask", "class_mask", "matte", "depth", "normals")


def digits(glyph=None, **overrides):
    randomizers = {} if glyph is None else {"glyph": glyph}
    return load_recipe("digits3d", {"randomizers": randomizers, **overrides})


def pixels_digest(frames) -> str:
    digest = hashlib.sha256()
    for frame in frames:
        for name in MAPS:
            digest.update(np.ascontiguousarray(getattr(frame, name)).tobytes())
    return digest.hexdigest()


def scenes(recipe, n=6):
    assets = resolve_assets(recipe, AssetCatalog.builtin())
    return [sample_scene(recipe, assets, seed) for seed in range(n)]


def bar(width=0.2, height=1.0) -> Polygon:
    return box(-width / 2, -height / 2, width / 2, height / 2)


# --- outline operations ---------------------------------------------------------------------

def test_stroke_offset_widens_a_bar_by_twice_the_offset_and_thin_parts_vanish():
    wide = offset_stroke(bar(), 0.03)
    assert wide.bounds[2] - wide.bounds[0] == pytest.approx(0.26)
    assert wide.area > bar().area
    thin = offset_stroke(bar(), -0.03)
    assert thin.bounds[2] - thin.bounds[0] == pytest.approx(0.14)
    assert thin.area == pytest.approx(0.14 * 0.94)
    assert offset_stroke(bar(), -0.11).is_empty  # a bar 0.2 wide has no ink left
    ink = [unit_outline(glyph_outline("8")).area]
    for stroke in (-0.02, 0.02):
        ink.append(sum(p.area for p in deform_outline(glyph_outline("8"),
                                                       GlyphShape(stroke=stroke))))
    assert ink[1] < ink[0] < ink[2]


@pytest.mark.parametrize("slant_deg", [-20.0, 12.0, 30.0])
def test_slant_moves_the_top_of_a_vertical_bar_by_tan_times_height(slant_deg):
    sheared = slant_and_aspect(bar(height=1.0), slant_deg, 1.0)
    xs = np.asarray(sheared.exterior.coords)
    top = xs[xs[:, 1] > 0.4][:, 0].min()  # left edge at the top and at the foot
    foot = xs[xs[:, 1] < -0.4][:, 0].min()
    assert top - foot == pytest.approx(math.tan(math.radians(slant_deg)))
    assert sheared.area == pytest.approx(bar().area)  # a shear keeps the area


def test_aspect_scales_width_and_not_height():
    outline = unit_outline(glyph_outline("0"))
    x0, y0, x1, y1 = outline.bounds
    assert y1 - y0 == pytest.approx(1.0) and (x0 + x1) / 2 == pytest.approx(0.0)
    narrow = slant_and_aspect(outline, 0.0, 0.7)
    assert narrow.bounds[2] - narrow.bounds[0] == pytest.approx(0.7 * (x1 - x0))
    assert narrow.bounds[3] - narrow.bounds[1] == pytest.approx(1.0)


def test_elastic_field_is_smooth_seeded_and_of_the_asked_amplitude():
    points = np.random.default_rng(0).uniform(-0.5, 0.5, size=(4000, 2))
    field = np.stack([elastic_displacement(points, 0.02, 0.2, seed) for seed in range(40)])
    assert field.std() == pytest.approx(0.02, rel=0.1)  # over fields and points
    same = elastic_displacement(points, 0.02, 0.2, 7)
    assert np.array_equal(same, field[7])
    # Points 0.01 apart move almost alike; points 1 apart (5 scales) independently.
    near = elastic_displacement(points + 0.01, 0.02, 0.2, 7) - same
    assert np.abs(near).mean() < 0.1 * np.abs(same).mean()
    assert elastic(bar(), 0.0, 0.2, 7).equals(bar())
    bent = elastic(bar(), 0.05, 0.2, 7)
    assert bent.is_valid and not bent.equals(bar())
    assert bent.area == pytest.approx(bar().area, rel=0.3)


def test_shaped_mesh_is_a_unit_mesh_and_an_erased_glyph_names_the_range():
    asset = AssetCatalog.builtin().get("digit_1")
    mesh = shaped_glyph_mesh(asset, GlyphShape(stroke=0.01, slant_deg=10, aspect=0.8,
                                               elastic=0.01, elastic_seed=3))
    assert np.allclose(mesh.bounds.mean(axis=0), 0) and np.ptp(mesh.bounds, axis=0).max() == (
        pytest.approx(1.0))
    closed = mesh.copy()
    closed.merge_vertices()  # faces carry their own vertices (flat shading)
    assert closed.is_watertight and closed.volume > 0  # outward normals
    with pytest.raises(RecipeError, match=r"randomizers.glyph.stroke = -0.1 erases glyph '1' "
                                          r"in font 'cmr10.ttf'"):
        shaped_glyph_mesh(asset, GlyphShape(stroke=-0.1, font="cmr10.ttf"))


def test_flat_extrusion_is_the_trimesh_extrusion():
    polygons = deform_outline(glyph_outline("8"), GlyphShape(stroke=-0.02, slant_deg=10,
                                                             elastic=0.01, elastic_seed=1))
    ours, theirs = extrude_flat(polygons, 0.25), extrude_outline(polygons, 0.25)
    assert np.allclose(ours.bounds, theirs.bounds)
    assert ours.volume == pytest.approx(theirs.volume, rel=1e-9)
    assert ours.area == pytest.approx(theirs.area, rel=1e-9)


def test_every_glyph_font_ships_with_matplotlib_and_draws_every_digit():
    for font in GLYPH_FONTS:
        for digit in "0123456789":
            parts = glyph_outline(digit, font)
            assert 1 <= len(parts) <= 3, (font, digit)


# --- recipes --------------------------------------------------------------------------------

@pytest.mark.parametrize("glyph, message", [
    ({"aspect": [0, 1]}, r"digits3d.randomizers.glyph.aspect = \[0, 1\] leaves the allowed "
                         r"interval \[0.3, 3\]"),
    ({"slant_deg": [10, -10]}, r"randomizers.glyph.slant_deg is an inverted range"),
    ({"stroke": "thin"}, r"randomizers.glyph.stroke must be a number"),
    ({"elastic": [0, 0.5]}, r"randomizers.glyph.elastic = \[0, 0.5\] leaves"),
    ({"fonts": ["DejaVuSans"]}, r"randomizers.glyph.fonts: unknown option 'DejaVuSans' \(did "
                                r"you mean 'DejaVuSans.ttf'\?\)"),
    ({"width": 1}, r"randomizers.glyph: unknown key 'width'"),
])
def test_bad_glyph_ranges_name_the_key(glyph, message):
    with pytest.raises(RecipeError, match=message):
        digits(glyph)


@pytest.mark.parametrize("name", sorted(BEFORE))
def test_a_recipe_without_the_glyph_randomizer_is_unchanged(name):
    overrides = {"size": 48} if name == "objects" else None
    recipe = load_recipe(name, overrides)
    assert "glyph" not in recipe.config["randomizers"]
    assert recipe.config_hash == BEFORE[name][0]
    frames = render_preview(recipe, 4, seed=0, finished=True)
    assert pixels_digest(frames) == BEFORE[name][1]
    assert not any(k.startswith("glyph_") for s in scenes(recipe, 2) for k in s.attributes)
    assert recipe.ablate("glyph").config_hash == recipe.config_hash


def test_held_glyph_is_the_identity_and_its_columns_say_so():
    plain = render_preview(digits(), 3, seed=2, finished=True)
    for held in (digits(False), digits(KNOBS).ablate("glyph")):
        assert held.config_hash != digits().config_hash  # the recipe names the randomizer
        assert pixels_digest(render_preview(held, 3, seed=2, finished=True)) == (
            pixels_digest(plain))
        for scene in scenes(held, 3):
            assert scene.targets[0].shape is None
            assert {c: scene.attributes[c] for c in GLYPH_COLUMNS} == {
                "glyph_stroke": 0.0, "glyph_slant_deg": 0.0, "glyph_aspect": 1.0,
                "glyph_elastic": 0.0, "glyph_elastic_scale": 0.275,  # mid
                "glyph_font": "DejaVuSans-Bold.ttf"}


def test_glyph_draws_are_deterministic_and_ablation_changes_only_them():
    recipe = digits(KNOBS)
    first, again, ablated = scenes(recipe), scenes(recipe), scenes(recipe.ablate("glyph"))
    assert [s.attributes for s in first] == [s.attributes for s in again]
    assert [s.targets[0].shape for s in first] == [s.targets[0].shape for s in again]
    shapes = [s.targets[0].shape for s in first]
    assert len({s.stroke for s in shapes}) == len(shapes)  # drawn per sample
    assert all(-0.03 <= s.stroke <= 0.03 and 0.7 <= s.aspect <= 1.0 for s in shapes)
    for full, held in zip(first, ablated, strict=True):
        others = {k: v for k, v in full.attributes.items() if not k.startswith("glyph_")}
        assert others == {k: v for k, v in held.attributes.items()
                          if not k.startswith("glyph_")}
        assert full.camera == held.camera and full.lights == held.lights
    a, b = (render_preview(recipe, 2, seed=0, finished=True) for _ in range(2))
    assert pixels_digest(a) == pixels_digest(b)
    assert pixels_digest(a) != pixels_digest(render_preview(recipe.ablate("glyph"), 2, seed=0,
                                                            finished=True))


def test_a_bolder_stroke_puts_more_ink_in_the_render():
    ink = []
    for stroke in (-0.02, 0.0, 0.03):
        recipe = load_recipe("digits3d", {"randomizers": {
            "glyph": {"stroke": stroke, "slant_deg": 0, "aspect": 1, "elastic": 0},
            "pose": False, "camera": False, "sensor": False}})
        ink.append(np.mean([f.matte.mean() for f in render_preview(recipe, 4, seed=0)]))
    assert ink[0] < ink[1] < ink[2]


def test_generated_rows_record_the_glyph_columns(tmp_path: Path):
    ws = init_workspace(tmp_path / "ws")
    recipe = digits(KNOBS)
    generate(ws, recipe, 3, seed=0, workers=1)
    rows = ws.to_pandas().sort_values("gen_index")
    for column in GLYPH_COLUMNS:
        assert rows[column].notna().all(), column
    assert set(rows["glyph_font"]) <= set(KNOBS["fonts"])
    assert rows["glyph_slant_deg"].between(-15, 15).all()


def test_glyph_columns_map_back_to_their_parameters():
    for column in GLYPH_COLUMNS[:-1]:
        assert column in PARAM_COLUMNS  # interpolated and pinned by param_oversample
        assert COLUMN_PARAMS[column] == ("glyph", column.removeprefix("glyph_"))
    assert COLUMN_PARAMS["glyph_font"] == ("glyph", "fonts")
    from curator.requests import GenerationRequest

    overrides, skipped = request_overrides(GenerationRequest(
        5, "3", {"glyph_aspect": (0.1, 0.8)}, values={"glyph_font": ["cmr10.ttf"]}))
    assert overrides["randomizers"]["glyph"] == {"aspect": [0.3, 0.8], "fonts": ["cmr10.ttf"]}
    assert skipped == []
