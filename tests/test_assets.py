"""Asset catalog: validation, queries, JSON round trips, and the unit meshes it builds."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import trimesh
from shapely import affinity
from shapely.geometry import MultiLineString, Polygon
from shapely.ops import polygonize, unary_union

from curator.errors import CuratorError, PathEscapeError
from generators.assets import (
    Asset,
    AssetCatalog,
    AssetError,
    build_mesh,
    glyph_outline,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def catalog() -> AssetCatalog:
    return AssetCatalog.builtin()


def cross_section(mesh: trimesh.Trimesh, z: float = 0.0):
    """The mesh's XY cross-section at height z, as shapely geometry (holes by even-odd)."""
    segments = trimesh.intersections.mesh_plane(mesh, [0, 0, 1], [0, 0, z])
    # Endpoints of one edge computed from its two faces may differ in the last bits.
    lines = unary_union(MultiLineString([s[:, :2].round(9) for s in segments]))
    rings = [Polygon(face.exterior) for face in polygonize(lines)]
    return functools.reduce(lambda a, b: a.symmetric_difference(b), rings)


def mesh_digest(mesh: trimesh.Trimesh) -> str:
    h = hashlib.sha256(np.ascontiguousarray(mesh.vertices, dtype="<f8").tobytes())
    h.update(np.ascontiguousarray(mesh.faces, dtype="<i8").tobytes())
    return h.hexdigest()


def asset(**overrides) -> Asset:
    base = {"asset_id": "thing", "label": "thing", "kind": "primitive",
            "params": {"shape": "box"}}
    return Asset(**{**base, **overrides})


# --- the built-in catalog ---------------------------------------------------------------

def test_builtin_catalog_content(catalog):
    ids = [a.asset_id for a in catalog]
    assert ids[:10] == [f"digit_{d}" for d in range(10)]
    assert {"glyph_A", "glyph_B", "glyph_X", "cube", "sphere", "cylinder", "cone", "torus",
            "capsule", "car", "truck", "mug", "table", "chair", "tree", "lamp"} <= set(ids)
    assert [catalog.get(f"digit_{d}").label for d in range(10)] == [str(d) for d in range(10)]
    assert catalog.get("digit_3").tags == ("digit", "glyph")
    assert catalog.get("cube").params["shape"] == "box"
    assert catalog.get("car").tags == ("vehicle",)
    assert "car" in catalog and "spaceship" not in catalog
    assert len(catalog) == len(ids) == len(set(ids))
    assert catalog.labels == tuple(sorted({a.label for a in catalog}))
    hue_lo, hue_hi = catalog.get("tree").hue_range
    assert 0.15 < hue_lo <= hue_hi < 0.5  # green-ish


@pytest.mark.parametrize("asset_id", [a.asset_id for a in AssetCatalog.builtin()])
def test_every_builtin_asset_builds_a_unit_centred_closed_mesh(catalog, asset_id):
    mesh = build_mesh(catalog.get(asset_id))
    assert len(mesh.faces) > 0 and len(mesh.vertices) > 0
    assert mesh.extents.max() == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(mesh.bounds.mean(axis=0), 0.0, atol=1e-9)
    assert mesh.is_watertight


def test_digits_with_holes_have_them(catalog):
    holes = {"0": 1, "1": 0, "4": 1, "6": 1, "7": 0, "8": 2, "9": 1}
    for digit, expected in holes.items():
        mesh = build_mesh(catalog.get(f"digit_{digit}"))
        section = cross_section(mesh)
        assert section.geom_type == "Polygon"
        assert len(section.interiors) == expected, digit
        # A closed genus-g surface has Euler characteristic 2 - 2g.
        assert mesh.euler_number == 2 - 2 * expected, digit
        # Volume = section area x depth, so the holes are really empty.
        depth = mesh.extents[2]
        assert mesh.volume == pytest.approx(section.area * depth, rel=1e-6)
    zero = cross_section(build_mesh(catalog.get("digit_0")))
    assert zero.area < 0.8 * Polygon(zero.exterior).area  # the hole is ~1/4 of the outline


def test_glyph_font_and_depth_params():
    mono = Asset("mono_7", "7", "glyph", params={"text": "7", "font": "DejaVuSansMono.ttf",
                                                 "depth": 0.1})
    mesh = build_mesh(AssetCatalog([mono]).get("mono_7"))
    assert mesh.extents[2] == pytest.approx(0.1)
    assert mesh.extents[1] == pytest.approx(1.0)


def test_glyph_lies_in_xy_and_reads_from_plus_z(catalog):
    mesh = build_mesh(catalog.get("digit_7"))
    width, height, depth = mesh.extents
    assert height == pytest.approx(1.0)  # the glyph is taller than wide
    assert depth == pytest.approx(0.25)  # the default extrusion, relative to height
    assert width < height
    # The XY section matches the font outline unmirrored (a camera on +Z, +Y up, reads it).
    outline = unary_union(glyph_outline("7"))
    minx, miny, maxx, maxy = outline.bounds
    scale = 1.0 / max(maxx - minx, maxy - miny)
    outline = affinity.translate(outline, -(minx + maxx) / 2, -(miny + maxy) / 2)
    outline = affinity.scale(outline, scale, scale, origin=(0, 0))
    section = cross_section(mesh)
    iou = section.intersection(outline).area / section.union(outline).area
    mirrored = affinity.scale(outline, -1, 1, origin=(0, 0))
    iou_mirrored = section.intersection(mirrored).area / section.union(mirrored).area
    assert iou > 0.999 and iou_mirrored < 0.8


def test_primitives_follow_the_up_convention(catalog):
    assert build_mesh(catalog.get("cylinder")).extents == pytest.approx([1, 1, 1])
    capsule = build_mesh(catalog.get("capsule")).extents
    assert capsule[1] == pytest.approx(1.0) and capsule[0] == pytest.approx(0.5)
    torus = build_mesh(catalog.get("torus")).extents
    assert torus[1] < 0.5 < torus[0]  # lies flat, axis +Y
    cone = build_mesh(catalog.get("cone"))
    assert cone.vertices[:, 1].argmax() in np.flatnonzero(
        np.linalg.norm(cone.vertices[:, [0, 2]], axis=1) < 1e-9)  # apex points up
    car = build_mesh(catalog.get("car")).extents
    assert car[2] == pytest.approx(1.0) and car[1] < car[0] < car[2]  # long along Z, low


def test_build_is_deterministic_and_returns_copies(catalog):
    first = build_mesh(catalog.get("digit_8"))
    second = build_mesh(catalog.get("digit_8"))
    assert first is not second
    np.testing.assert_array_equal(first.vertices, second.vertices)
    np.testing.assert_array_equal(first.faces, second.faces)
    first.apply_translation([5, 0, 0])
    np.testing.assert_array_equal(build_mesh(catalog.get("digit_8")).vertices, second.vertices)


def test_build_is_identical_in_a_fresh_process(catalog):
    ids = ["digit_0", "digit_8", "glyph_B", "car", "mug", "tree_round"]
    code = (
        "import hashlib, numpy as np\n"
        "from generators.assets import AssetCatalog, build_mesh\n"
        "cat = AssetCatalog.builtin()\n"
        f"for i in {ids!r}:\n"
        "    m = build_mesh(cat.get(i))\n"
        "    h = hashlib.sha256(np.ascontiguousarray(m.vertices, dtype='<f8').tobytes())\n"
        "    h.update(np.ascontiguousarray(m.faces, dtype='<i8').tobytes())\n"
        "    print(h.hexdigest())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout.split()
    assert out == [mesh_digest(build_mesh(catalog.get(i))) for i in ids]


# --- queries ----------------------------------------------------------------------------

def test_query_semantics(catalog):
    ids = lambda assets: [a.asset_id for a in assets]  # noqa: E731
    digits = ids(catalog.query(tags=["digit"]))
    assert digits == [f"digit_{d}" for d in range(10)]
    assert ids(catalog.query(tags="digit")) == digits  # a string is one tag
    assert ids(catalog.query(tags=["glyph", "letter"])) == ["glyph_A", "glyph_B", "glyph_X"]
    assert set(ids(catalog.query(any_tags=["vehicle", "plant"]))) == {
        "car", "truck", "tree", "tree_round"}
    assert ids(catalog.query(tags=["glyph"], exclude_tags=["digit"])) == [
        "glyph_A", "glyph_B", "glyph_X"]
    assert ids(catalog.query(label="tree")) == ["tree", "tree_round"]
    assert ids(catalog.query(labels=["7", "car"])) == ["digit_7", "car"]  # catalog order
    assert ids(catalog.query(label="7", labels=["car"])) == []
    assert len(catalog.query(kind="primitive")) == 6
    assert all(a.kind == "composite" for a in catalog.query(kind="composite"))
    distractors = catalog.query(tags=["distractor"], exclude_tags=["letter"])
    assert {a.kind for a in distractors} == {"primitive"}
    assert catalog.query() == list(catalog)
    assert catalog.query(tags=["no-such-tag"]) == []
    with pytest.raises(AssetError, match="kind"):
        catalog.query(kind="prmitive")


def test_get_unknown_suggests_close_matches(catalog):
    with pytest.raises(AssetError, match="digit_7") as info:
        catalog.get("digit7")
    assert isinstance(info.value, CuratorError)


# --- serialisation ----------------------------------------------------------------------

def test_json_round_trip(catalog, tmp_path):
    path = tmp_path / "catalog.json"
    catalog.to_json(path)
    again = AssetCatalog.from_json(path)
    assert again == catalog
    assert list(again) == list(catalog)
    assert again.config() == catalog.config()
    assert json.loads(json.dumps(catalog.config())) == catalog.config()
    assert [p.name for p in tmp_path.iterdir()] == ["catalog.json"]  # no temp files left
    np.testing.assert_array_equal(build_mesh(again.get("car")).vertices,
                                  build_mesh(catalog.get("car")).vertices)


def test_user_composite_from_json(tmp_path):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"assets": [{
        "asset_id": "snowman", "label": "snowman", "kind": "composite",
        "params": {"parts": [
            {"shape": "sphere", "radius": 1.0, "translate": [0, 1, 0]},
            {"shape": "sphere", "radius": 0.6, "translate": [0, 2.4, 0]},
        ]},
    }]}))
    mesh = build_mesh(AssetCatalog.from_json(path).get("snowman"))
    assert mesh.extents[1] == pytest.approx(1.0)
    assert mesh.extents[0] == pytest.approx(2.0 / 3.0)  # spheres span y 0..2 and 1.8..3


def test_to_frame(catalog):
    frame = catalog.to_frame()
    assert list(frame["asset_id"]) == [a.asset_id for a in catalog]
    car = frame.set_index("asset_id").loc["car"]
    assert car["tags"] == "vehicle"
    assert (car["size_min_m"], car["size_max_m"]) == catalog.get("car").size_range_m
    assert {"hue_min", "hue_max", "metallic_max", "params"} <= set(frame.columns)


def test_tuples_and_lists_compare_equal_after_coercion():
    a = asset(params={"shape": "box", "extents": (1, 2, 3)}, tags=["x"], hue_range=[0, 1])
    b = asset(params={"shape": "box", "extents": [1, 2, 3]}, tags=("x",), hue_range=(0.0, 1.0))
    assert a == b and hash(a) == hash(b)


# --- validation -------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("overrides", "field", "value"),
    [
        ({"hue_range": (0.8, 0.2)}, "hue_range", "0.8"),
        ({"metallic_range": (0.0, 1.5)}, "metallic_range", "1.5"),
        ({"size_range_m": (0.0, 1.0)}, "size_range_m", "0.0"),
        ({"roughness_range": (-0.1, 0.5)}, "roughness_range", "-0.1"),
        ({"kind": "blob"}, "kind", "blob"),
        ({"params": {"shape": "pyramid"}}, "shape", "pyramid"),
        ({"params": {"shape": "box", "extents": [1, 0, 1]}}, "extents", "[1, 0, 1]"),
        ({"params": {"shape": "box", "colour": 1}}, "colour", "colour"),
        ({"kind": "glyph", "params": {"text": ""}}, "text", "''"),
        ({"kind": "glyph", "params": {"text": "7", "font": "../x.ttf"}}, "font", "x.ttf"),
        ({"kind": "glyph", "params": {"text": "7", "depth": 0}}, "depth", "0"),
        ({"kind": "composite", "params": {"parts": []}}, "parts", "parts"),
        ({"kind": "mesh", "params": {"path": "a.fbx"}}, "path", ".fbx"),
    ],
)
def test_invalid_assets_are_refused_naming_id_field_and_value(overrides, field, value):
    with pytest.raises(AssetError) as info:
        AssetCatalog([asset(asset_id="bad_one", **overrides)])
    message = str(info.value)
    assert "bad_one" in message and field in message and value in message


def test_duplicate_ids_are_refused():
    with pytest.raises(AssetError, match="duplicate asset_id 'thing'"):
        AssetCatalog([asset(), asset(label="other")])


def test_malformed_values_are_refused_at_construction():
    with pytest.raises(AssetError, match="hue_range"):
        asset(hue_range=(0.1, 0.2, 0.3))
    with pytest.raises(AssetError, match="JSON"):
        asset(params={"shape": "box", "extents": object()})


def test_from_json_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"asset_id": "a", "label": "a", "kind": "primitive",
                                "params": {"shape": "box"}, "hue": [0, 1]}]))
    with pytest.raises(AssetError, match="bad.json.*unknown field 'hue'"):
        AssetCatalog.from_json(bad)
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(AssetError, match="broken.json"):
        AssetCatalog.from_json(tmp_path / "broken.json")
    with pytest.raises(AssetError, match="does not exist"):
        AssetCatalog.from_json(tmp_path / "missing.json")


# --- meshes from files ------------------------------------------------------------------

@pytest.fixture
def mesh_root(tmp_path) -> Path:
    root = tmp_path / "assets"
    (root / "meshes").mkdir(parents=True)
    box = trimesh.creation.box(extents=[2.0, 1.0, 4.0])
    box.apply_translation([10.0, 3.0, -1.0])
    box.export(root / "meshes" / "My Crate.obj")
    trimesh.creation.icosphere(subdivisions=2).export(tmp_path / "outside.obj")
    return root


def test_register_mesh_inside_root(catalog, mesh_root):
    bigger = catalog.register_mesh("meshes/My Crate.obj", label="crate", tags=("box",),
                                   root=mesh_root, hue_range=(0.05, 0.1))
    assert len(bigger) == len(catalog) + 1 and "mesh_my_crate" not in catalog
    crate = bigger.get("mesh_my_crate")
    assert (crate.kind, crate.label, crate.tags) == ("mesh", "crate", ("box",))
    assert crate.params == {"path": "meshes/My Crate.obj"}
    assert crate.hue_range == (0.05, 0.1)
    mesh = build_mesh(crate, root=mesh_root)
    np.testing.assert_allclose(mesh.extents, [0.5, 0.25, 1.0])
    np.testing.assert_allclose(mesh.bounds.mean(axis=0), 0.0, atol=1e-12)
    assert bigger.query(kind="mesh") == [crate]


def test_register_mesh_rotation_and_absolute_path(catalog, mesh_root):
    cat = catalog.register_mesh(mesh_root / "meshes" / "My Crate.obj", label="crate",
                                asset_id="crate_up", rotate_deg=(90, 0, 0))
    crate = cat.get("crate_up")
    assert Path(crate.params["path"]).is_absolute()
    np.testing.assert_allclose(build_mesh(crate).extents, [0.5, 1.0, 0.25], atol=1e-12)


def test_register_mesh_glb(catalog, tmp_path):
    trimesh.creation.cylinder(radius=1.0, height=1.0).export(tmp_path / "can.glb")
    cat = catalog.register_mesh("can.glb", label="can", root=tmp_path)
    assert build_mesh(cat.get("mesh_can"), root=tmp_path).is_watertight


def test_register_mesh_path_escaping_root_is_refused(catalog, mesh_root):
    with pytest.raises(PathEscapeError, match="mesh"):
        catalog.register_mesh("../outside.obj", label="ball", root=mesh_root)
    with pytest.raises(PathEscapeError):
        catalog.register_mesh(mesh_root.parent / "outside.obj", label="ball", root=mesh_root)


def test_register_mesh_bad_files(catalog, tmp_path):
    (tmp_path / "garbage.glb").write_bytes(b"\x00\x01not a mesh at all" * 10)
    (tmp_path / "empty.obj").write_text("# nothing here\n")
    (tmp_path / "notes.txt").write_text("v 0 0 0\n")
    for name, pattern in [("garbage.glb", "could not be read"),
                          ("empty.obj", "no triangles"),
                          ("notes.txt", "unsupported suffix"),
                          ("missing.stl", "does not exist")]:
        with pytest.raises(AssetError, match=pattern):
            catalog.register_mesh(name, label="x", root=tmp_path)
    with pytest.raises(AssetError, match="unknown keyword 'hue'"):
        catalog.register_mesh("empty.obj", label="x", root=tmp_path, hue=(0, 1))


def test_register_mesh_duplicate_id_is_refused(catalog, mesh_root):
    with pytest.raises(AssetError, match="duplicate asset_id 'car'"):
        catalog.register_mesh("meshes/My Crate.obj", label="crate", asset_id="car",
                              root=mesh_root)


def test_edited_mesh_file_is_rebuilt(catalog, tmp_path):
    trimesh.creation.box(extents=[1, 1, 1]).export(tmp_path / "thing.stl")
    cat = catalog.register_mesh("thing.stl", label="thing", root=tmp_path)
    assert build_mesh(cat.get("mesh_thing"), root=tmp_path).extents == pytest.approx([1, 1, 1])
    trimesh.creation.box(extents=[1, 2, 4]).export(tmp_path / "thing.stl")
    rebuilt = build_mesh(cat.get("mesh_thing"), root=tmp_path)
    assert rebuilt.extents == pytest.approx([0.25, 0.5, 1.0])


def test_asset_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        asset().label = "other"  # type: ignore[misc]
