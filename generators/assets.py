"""The asset catalog: which objects a synthetic scene can contain, and their unit meshes.

Owns asset descriptions (label, tags, size and material ranges, builder params) and the
deterministic builders that turn them into centred, unit-size trimesh meshes (+Y up, front +Z).
"""

from __future__ import annotations

import difflib
import functools
import json
import math
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import trimesh
from shapely.geometry import Polygon

from curator.errors import PathEscapeError
from curator.fileio import atomic_write_bytes
from curator.hashing import config_hash
from curator.paths import resolve_inside
from generators.errors import GeneratorError


class AssetError(GeneratorError):
    """An asset or catalog is invalid, unknown, or its mesh cannot be built or read."""

    reason = "invalid_asset"


KINDS = ("primitive", "glyph", "composite", "mesh")
MESH_SUFFIXES = (".obj", ".glb", ".gltf", ".ply", ".stl")
RANGE_FIELDS = ("size_range_m", "hue_range", "saturation_range", "value_range",
                "roughness_range", "metallic_range")
CATALOG_FORMAT = "curator-asset-catalog"
CATALOG_VERSION = 1
DEFAULT_GLYPH_FONT = "DejaVuSans-Bold.ttf"
DEFAULT_GLYPH_DEPTH = 0.25

# Per shape: its size parameters with defaults; every part may also carry these keys.
_SHAPE_DEFAULTS: dict[str, dict[str, Any]] = {
    "box": {"extents": [1.0, 1.0, 1.0]},
    "sphere": {"radius": 0.5, "subdivisions": 3},
    "cylinder": {"radius": 0.5, "height": 1.0, "sections": 32},
    "cone": {"radius": 0.5, "height": 1.0, "sections": 32},
    "torus": {"major_radius": 0.5, "minor_radius": 0.15, "major_sections": 32,
              "minor_sections": 16},
    "capsule": {"radius": 0.25, "height": 1.0, "sections": 32},
}
SHAPES = tuple(_SHAPE_DEFAULTS)
_PART_KEYS = ("shape", "translate", "rotate_deg")
_INT_PARAMS = ("subdivisions", "sections", "major_sections", "minor_sections")
# TextPath flattens curves with a fixed tolerance in path units, so a large size gives
# smooth outlines; the result is rescaled to unit size anyway.
_TEXT_SIZE = 1000.0
_GLYPH_KEYS = ("text", "depth", "font")
_MESH_KEYS = ("path", "rotate_deg")


@dataclass(frozen=True)
class Asset:
    """One object a scene can contain.

    Parameters
    ----------
    asset_id : str
        Unique id, e.g. ``"digit_7"`` or ``"car"``.
    label : str
        Class name used as the sample label; several assets may share one.
    kind : str
        One of ``"primitive"``, ``"glyph"``, ``"composite"``, ``"mesh"``.
    tags : tuple of str
        Free-form groups used by :meth:`AssetCatalog.query`.
    size_range_m, hue_range, saturation_range, value_range, roughness_range, metallic_range
        ``(min, max)`` ranges the generator samples from; size is the longest extent in
        metres, the others lie in ``[0, 1]``.
    params : mapping
        JSON-serialisable builder parameters (see :func:`build_mesh`).
    """

    asset_id: str
    label: str
    kind: str
    tags: tuple[str, ...] = ()
    size_range_m: tuple[float, float] = (0.5, 1.0)
    hue_range: tuple[float, float] = (0.0, 1.0)
    saturation_range: tuple[float, float] = (0.0, 1.0)
    value_range: tuple[float, float] = (0.2, 1.0)
    roughness_range: tuple[float, float] = (0.2, 0.9)
    metallic_range: tuple[float, float] = (0.0, 0.5)
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Coerce to canonical types so JSON round trips compare equal; values are checked
        # by AssetCatalog.
        where = f"asset {self.asset_id!r}"
        tags = (self.tags,) if isinstance(self.tags, str) else self.tags
        tags = tuple(tags) if isinstance(tags, Iterable) else None
        if tags is None or not all(isinstance(t, str) for t in tags):
            raise AssetError(f"{where}: tags must be a sequence of strings, got {self.tags!r}")
        object.__setattr__(self, "tags", tags)
        for name in RANGE_FIELDS:
            value = getattr(self, name)
            try:
                lo, hi = (float(v) for v in value)
            except (TypeError, ValueError):
                raise AssetError(
                    f"{where}: {name} must be a (min, max) pair of numbers, got {value!r}"
                ) from None
            object.__setattr__(self, name, (lo, hi))
        if not isinstance(self.params, Mapping):
            raise AssetError(f"{where}: params must be a mapping, got {self.params!r}")
        try:
            params = json.loads(json.dumps(dict(self.params), allow_nan=False))
        except (TypeError, ValueError) as exc:
            raise AssetError(f"{where}: params must be JSON-serialisable ({exc})") from None
        object.__setattr__(self, "params", params)

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_dict(), sort_keys=True))

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (lists for tuples) that ``Asset(**d)`` rebuilds."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        out["params"] = json.loads(json.dumps(self.params))
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Asset:
        """Build an asset from :meth:`to_dict` output; unknown keys raise :class:`AssetError`."""
        known = [f.name for f in fields(cls)]
        if not isinstance(data, Mapping):
            raise AssetError(f"an asset must be a JSON object, got {data!r}")
        for key in data:
            if key not in known:
                raise AssetError(
                    f"asset {data.get('asset_id')!r}: unknown field {key!r}"
                    f"{_did_you_mean(key, known)}"
                )
        missing = [k for k in ("asset_id", "label", "kind") if k not in data]
        if missing:
            raise AssetError(f"asset {data.get('asset_id')!r}: missing field(s) {missing}")
        return cls(**data)


class AssetCatalog:
    """An ordered, validated collection of assets with unique ids.

    Parameters
    ----------
    assets : iterable of Asset
        Checked for unique ids, known kinds, ranges with ``0 <= min <= max`` (sizes
        ``> 0``, colours and materials ``<= 1``) and well-formed builder params.
    """

    def __init__(self, assets: Iterable[Asset]) -> None:
        self._assets: tuple[Asset, ...] = tuple(assets)
        self._by_id: dict[str, Asset] = {}
        for asset in self._assets:
            if not isinstance(asset, Asset):
                raise AssetError(f"catalog entries must be Asset objects, got {asset!r}")
            _validate_asset(asset)
            if asset.asset_id in self._by_id:
                raise AssetError(
                    f"asset {asset.asset_id!r}: duplicate asset_id {asset.asset_id!r}; "
                    "asset ids must be unique within a catalog"
                )
            self._by_id[asset.asset_id] = asset

    @classmethod
    def builtin(cls) -> AssetCatalog:
        """Return the shipped procedural catalog (digits, letters, primitives, composites)."""
        return cls(_builtin_assets())

    @classmethod
    def from_json(cls, path: str | os.PathLike[str]) -> AssetCatalog:
        """Read a catalog written by :meth:`to_json` (or a bare JSON list of assets)."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise AssetError(f"asset catalog {path} does not exist") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise AssetError(f"asset catalog {path} is not readable JSON: {exc}") from None
        if isinstance(data, Mapping):
            if data.get("format", CATALOG_FORMAT) != CATALOG_FORMAT:
                raise AssetError(
                    f"{path}: format {data.get('format')!r} is not {CATALOG_FORMAT!r}"
                )
            data = data.get("assets")
        if not isinstance(data, list):
            raise AssetError(f"{path}: expected a list of assets under 'assets'")
        try:
            return cls(Asset.from_dict(item) for item in data)
        except AssetError as exc:
            raise AssetError(f"{path}: {exc}") from None

    def to_json(self, path: str | os.PathLike[str]) -> None:
        """Write the catalog as JSON atomically (temp file in the same folder, then rename)."""
        payload = {"format": CATALOG_FORMAT, "version": CATALOG_VERSION,
                   "assets": self.config()}
        text = json.dumps(payload, indent=2, sort_keys=False) + "\n"
        atomic_write_bytes(Path(path), text.encode("utf-8"))

    def to_frame(self) -> pd.DataFrame:
        """One row per asset: ids, label, kind, comma-joined tags, range columns, params JSON."""
        range_columns = {name: _range_columns(name) for name in RANGE_FIELDS}
        columns = ["asset_id", "label", "kind", "tags",
                   *(c for pair in range_columns.values() for c in pair), "params"]
        rows = []
        for a in self._assets:
            row: list[Any] = [a.asset_id, a.label, a.kind, ",".join(a.tags)]
            for name in RANGE_FIELDS:
                row.extend(getattr(a, name))
            row.append(json.dumps(a.params, sort_keys=True))
            rows.append(row)
        return pd.DataFrame(rows, columns=columns)

    def query(
        self,
        *,
        label: str | None = None,
        labels: Iterable[str] | None = None,
        tags: Iterable[str] | str | None = None,
        any_tags: Iterable[str] | str | None = None,
        exclude_tags: Iterable[str] | str | None = None,
        kind: str | Iterable[str] | None = None,
    ) -> list[Asset]:
        """Return the assets matching every given filter, in catalog order.

        Parameters
        ----------
        label, labels : str, iterable of str
            Keep assets whose label is ``label`` / one of ``labels``.
        tags, any_tags, exclude_tags : iterable of str
            Keep assets having all of ``tags``, at least one of ``any_tags`` and none of
            ``exclude_tags``; a single string counts as one tag.
        kind : str or iterable of str
            Keep assets of this kind (or these kinds).
        """
        wanted_labels = None if labels is None else _as_set(labels)
        if label is not None:
            wanted_labels = {label} if wanted_labels is None else wanted_labels & {label}
        kinds = None if kind is None else _as_set(kind)
        if kinds is not None and not kinds <= set(KINDS):
            raise AssetError(f"query: unknown kind {sorted(kinds - set(KINDS))}; use {KINDS}")
        all_tags, some_tags = _as_set(tags or ()), _as_set(any_tags or ())
        no_tags = _as_set(exclude_tags or ())
        out = []
        for a in self._assets:
            have = set(a.tags)
            if wanted_labels is not None and a.label not in wanted_labels:
                continue
            if kinds is not None and a.kind not in kinds:
                continue
            if not all_tags <= have or (some_tags and not some_tags & have) or no_tags & have:
                continue
            out.append(a)
        return out

    def get(self, asset_id: str) -> Asset:
        """Return the asset with this id; an unknown id raises :class:`AssetError`."""
        try:
            return self._by_id[asset_id]
        except KeyError:
            raise AssetError(
                f"unknown asset {asset_id!r}{_did_you_mean(asset_id, self._by_id)}"
            ) from None

    @property
    def labels(self) -> tuple[str, ...]:
        """Sorted distinct labels."""
        return tuple(sorted({a.label for a in self._assets}))

    def register_mesh(
        self,
        path: str | os.PathLike[str],
        *,
        label: str,
        tags: Iterable[str] = (),
        asset_id: str | None = None,
        size_range_m: tuple[float, float] = (0.5, 1.0),
        root: str | os.PathLike[str] | None = None,
        rotate_deg: Sequence[float] | None = None,
        **ranges: tuple[float, float],
    ) -> AssetCatalog:
        """Return a new catalog with a ``"mesh"`` asset for an OBJ/GLB/glTF/PLY/STL file.

        The file is loaded now to check it holds a non-empty triangle mesh. With ``root``
        the path is relative to it, must stay inside it, and is stored relative to it;
        without, the resolved absolute path is stored. ``rotate_deg`` (x, y, z) turns the
        mesh into the +Y up, front +Z convention; ``ranges`` are the other ``*_range``
        fields (``hue_range=(0.1, 0.2)``, ...).
        """
        for name in ranges:
            if name not in RANGE_FIELDS or name == "size_range_m":
                raise AssetError(
                    f"register_mesh: unknown keyword {name!r}"
                    f"{_did_you_mean(name, RANGE_FIELDS)}"
                )
        if root is not None:
            root_dir = Path(root).resolve()
            target = resolve_inside(root_dir, path, what="mesh")
            stored = target.relative_to(root_dir).as_posix()
        else:
            target = Path(path).resolve()
            stored = str(target)
        _check_mesh_suffix(target, where=f"mesh {os.fspath(path)!r}")
        _load_mesh_file(target)
        params: dict[str, Any] = {"path": stored}
        if rotate_deg is not None:
            params["rotate_deg"] = [float(v) for v in rotate_deg]
        asset = Asset(
            asset_id=asset_id or _mesh_asset_id(target),
            label=label,
            kind="mesh",
            tags=tuple(tags),
            size_range_m=size_range_m,
            params=params,
            **ranges,
        )
        return AssetCatalog([*self._assets, asset])

    def config(self) -> list[dict[str, Any]]:
        """JSON-ready description of every asset, in catalog order (hashed into outputs)."""
        return [a.to_dict() for a in self._assets]

    def fingerprint(self) -> str:
        """Hash of :meth:`config` (computed once: catalogs are immutable)."""
        cached = self.__dict__.get("_fingerprint")
        if cached is None:
            cached = self.__dict__["_fingerprint"] = config_hash(self.config())
        return cached

    def __len__(self) -> int:
        return len(self._assets)

    def __iter__(self) -> Iterator[Asset]:
        return iter(self._assets)

    def __contains__(self, asset_id: object) -> bool:
        return asset_id in self._by_id

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AssetCatalog):
            return NotImplemented
        return self._assets == other._assets

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"AssetCatalog({len(self)} assets, {len(self.labels)} labels)"


def build_mesh(asset: Asset, root: str | os.PathLike[str] | None = None) -> trimesh.Trimesh:
    """Return the asset's unit mesh: bounding box centred at 0, longest extent 1.0.

    +Y is up and the front faces +Z (a glyph lies in the XY plane, extruded along Z, and
    reads correctly from a camera on +Z). Built meshes are cached; each call returns a copy.
    ``root`` is the folder a ``"mesh"`` asset's relative path is resolved in.
    """
    root_key = "" if root is None else str(Path(root).resolve())
    stamp: tuple[int, int] = (0, 0)
    if asset.kind == "mesh":
        # The file's size and mtime join the key so an edited file is rebuilt.
        try:
            st = _mesh_path(asset.asset_id, asset.params["path"], root).stat()
        except OSError as exc:
            raise AssetError(f"asset {asset.asset_id!r}: mesh file unreadable: {exc}") from None
        stamp = (st.st_mtime_ns, st.st_size)
    params_json = json.dumps(asset.params, sort_keys=True)
    return _build_unit_mesh(asset.asset_id, asset.kind, params_json, root_key, stamp).copy()


@functools.lru_cache(maxsize=256)
def _build_unit_mesh(
    asset_id: str, kind: str, params_json: str, root_key: str, stamp: tuple[int, int]
) -> trimesh.Trimesh:
    params = json.loads(params_json)
    where = f"asset {asset_id!r}"
    if kind == "primitive":
        mesh = _build_part(params, where=where)
    elif kind == "composite":
        mesh = trimesh.util.concatenate(
            [_build_part(p, where=f"{where} part {i}") for i, p in enumerate(params["parts"])]
        )
    elif kind == "glyph":
        mesh = _build_glyph(params["text"], float(params.get("depth", DEFAULT_GLYPH_DEPTH)),
                            params.get("font", DEFAULT_GLYPH_FONT), where=where)
    elif kind == "mesh":
        mesh = _load_mesh_file(_mesh_path(asset_id, params["path"], root_key or None))
        mesh.apply_transform(_rotation(params.get("rotate_deg", [0.0, 0.0, 0.0])))
    else:  # pragma: no cover - the catalog refuses unknown kinds
        raise AssetError(f"{where}: unknown kind {kind!r}")
    return normalise_mesh(mesh, where=where)


def normalise_mesh(mesh: trimesh.Trimesh, *, where: str) -> trimesh.Trimesh:
    """Centre the bounding box at the origin and scale the longest extent to 1."""
    if len(mesh.faces) == 0:
        raise AssetError(f"{where}: the built mesh is empty")
    lo, hi = mesh.bounds
    longest = float((hi - lo).max())
    if not math.isfinite(longest) or longest <= 0:
        raise AssetError(f"{where}: the mesh has zero size (bounds {lo} .. {hi})")
    mesh.apply_translation(-(lo + hi) / 2.0)
    mesh.apply_scale(1.0 / longest)
    return mesh


def _rotation(rotate_deg: Sequence[float]) -> np.ndarray:
    """4x4 rotation about X, then Y, then Z (fixed axes), angles in degrees."""
    rx, ry, rz = (math.radians(float(v)) for v in rotate_deg)
    return trimesh.transformations.euler_matrix(rx, ry, rz, "sxyz")


# trimesh builds round shapes around +Z; this turns +Z into +Y (our up axis).
_Z_TO_Y = trimesh.transformations.rotation_matrix(-math.pi / 2.0, [1.0, 0.0, 0.0])


def _build_part(spec: Mapping[str, Any], *, where: str) -> trimesh.Trimesh:
    """Build one primitive: centred on its bounding box, axis +Y, then rotated, translated."""
    shape = spec["shape"]
    p = {**_SHAPE_DEFAULTS[shape], **{k: v for k, v in spec.items() if k not in _PART_KEYS}}
    if shape == "box":
        mesh = trimesh.creation.box(extents=[float(v) for v in p["extents"]])
    elif shape == "sphere":
        mesh = trimesh.creation.icosphere(subdivisions=int(p["subdivisions"]),
                                          radius=float(p["radius"]))
    elif shape == "cylinder":
        mesh = trimesh.creation.cylinder(radius=float(p["radius"]), height=float(p["height"]),
                                         sections=int(p["sections"]))
    elif shape == "cone":
        mesh = trimesh.creation.cone(radius=float(p["radius"]), height=float(p["height"]),
                                     sections=int(p["sections"]))
    elif shape == "torus":
        mesh = _torus(float(p["major_radius"]), float(p["minor_radius"]),
                      int(p["major_sections"]), int(p["minor_sections"]))
    else:  # capsule: "height" is the full length, trimesh wants centre-to-centre
        radius = float(p["radius"])
        mesh = trimesh.creation.capsule(height=float(p["height"]) - 2.0 * radius, radius=radius,
                                        count=[int(p["sections"]), int(p["sections"])])
    if shape != "box":
        mesh.apply_transform(_Z_TO_Y)
    mesh.apply_translation(-mesh.bounds.mean(axis=0))
    mesh.apply_transform(_rotation(spec.get("rotate_deg", [0.0, 0.0, 0.0])))
    mesh.apply_translation([float(v) for v in spec.get("translate", [0.0, 0.0, 0.0])])
    if len(mesh.faces) == 0:
        raise AssetError(f"{where}: shape {shape!r} produced an empty mesh")
    return mesh


def _torus(major: float, minor: float, major_sections: int, minor_sections: int
           ) -> trimesh.Trimesh:
    """A torus around +Z (trimesh's own where available, else a revolved circle)."""
    if hasattr(trimesh.creation, "torus"):
        return trimesh.creation.torus(major_radius=major, minor_radius=minor,
                                      major_sections=major_sections,
                                      minor_sections=minor_sections)
    t = np.linspace(0.0, 2.0 * np.pi, minor_sections, endpoint=False)
    ring = np.column_stack([major + minor * np.cos(t), minor * np.sin(t)])
    return trimesh.creation.revolve(np.vstack([ring, ring[:1]]), sections=major_sections)


def _font_path(font: str) -> Path:
    """A font file shipped inside matplotlib, so glyphs are identical on every machine."""
    import matplotlib

    return resolve_inside(Path(matplotlib.get_data_path()) / "fonts" / "ttf", font,
                          what="glyph font")


def glyph_outline(text: str, font: str = DEFAULT_GLYPH_FONT) -> list[Polygon]:
    """Return the filled outline of ``text`` as shapely polygons (with holes), in font units.

    Rings are classified by nesting depth: a ring inside an even number of others is an
    outer boundary, one inside an odd number is a hole of its innermost container. Cached
    per text and font (glyph shapes are drawn per sample from the same outline).
    """
    return list(_cached_outline(text, font))


@functools.lru_cache(maxsize=256)
def _cached_outline(text: str, font: str) -> tuple[Polygon, ...]:
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextPath

    path = TextPath((0.0, 0.0), text, size=_TEXT_SIZE, prop=FontProperties(fname=_font_path(font)))
    rings = [Polygon(r) for r in path.to_polygons(closed_only=True) if len(r) >= 4]
    rings = [r if r.is_valid else r.buffer(0) for r in rings]
    rings = [r for r in rings if isinstance(r, Polygon) and r.area > 0]
    rings.sort(key=lambda r: -r.area)
    containers = [[j for j in range(i) if rings[j].contains(rings[i].representative_point())]
                  for i in range(len(rings))]
    shells: dict[int, list[int]] = {}
    for i, inside in enumerate(containers):
        if len(inside) % 2 == 0:
            shells[i] = []
        else:  # innermost container = the smallest one, i.e. the last index
            shells.setdefault(inside[-1], []).append(i)
    return tuple(Polygon(rings[i].exterior.coords, [rings[h].exterior.coords for h in holes])
                 for i, holes in sorted(shells.items()))


def _build_glyph(text: str, depth: float, font: str, *, where: str) -> trimesh.Trimesh:
    """Extrude a text outline along +Z by ``depth`` times the glyph height."""
    polygons = glyph_outline(text, font)
    if not polygons:
        raise AssetError(f"{where}: text {text!r} has no filled outline in font {font!r}")
    return extrude_outline(polygons, depth)


def extrude_outline(polygons: Sequence[Polygon], depth: float) -> trimesh.Trimesh:
    """Extrude 2-D polygons (XY plane) along +Z by ``depth`` times their joint height."""
    miny = min(p.bounds[1] for p in polygons)
    maxy = max(p.bounds[3] for p in polygons)
    height = depth * (maxy - miny)
    return trimesh.util.concatenate(
        [trimesh.creation.extrude_polygon(p, height=height) for p in polygons]
    )


def _mesh_path(asset_id: str, stored: str, root: str | os.PathLike[str] | None) -> Path:
    """Where a mesh asset's file is: inside ``root`` if given, else the stored path."""
    if root is not None:
        return resolve_inside(Path(root), stored, what=f"mesh of asset {asset_id!r}")
    return Path(stored)


def _load_mesh_file(path: Path) -> trimesh.Trimesh:
    """Load a mesh file as one triangle mesh, or raise :class:`AssetError` saying why."""
    _check_mesh_suffix(path, where=f"mesh file {path}")
    if not path.is_file():
        raise AssetError(f"mesh file {path} does not exist or is not a file")
    try:
        mesh = trimesh.load(path, force="mesh")
    except Exception as exc:  # trimesh raises many kinds for corrupt files
        raise AssetError(
            f"mesh file {path} could not be read ({type(exc).__name__}: {exc}); "
            "check it is a valid OBJ/GLB/glTF/PLY/STL file"
        ) from None
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
        raise AssetError(f"mesh file {path} holds no triangles; export it as a surface mesh")
    return mesh


def _check_mesh_suffix(path: Path, *, where: str) -> None:
    if path.suffix.lower() not in MESH_SUFFIXES:
        raise AssetError(
            f"{where}: unsupported suffix {path.suffix!r}; use one of {MESH_SUFFIXES}"
        )


def _mesh_asset_id(path: Path) -> str:
    return "mesh_" + (re.sub(r"[^0-9a-z]+", "_", path.stem.lower()).strip("_") or "asset")


def _range_columns(name: str) -> tuple[str, str]:
    """Frame columns of a range field: ``hue_range`` -> hue_min, hue_max; size keeps ``_m``."""
    stem, unit = name.removesuffix("_m").removesuffix("_range"), "_m" * name.endswith("_m")
    return f"{stem}_min{unit}", f"{stem}_max{unit}"


def _as_set(values: Iterable[str] | str) -> set[str]:
    return {values} if isinstance(values, str) else set(values)


def _did_you_mean(name: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=3, cutoff=0.5)
    return f"; did you mean {', '.join(map(repr, close))}?" if close else ""


def _validate_asset(asset: Asset) -> None:
    """Check one asset's values; raise :class:`AssetError` naming the id, field and value."""
    where = f"asset {asset.asset_id!r}"
    if not isinstance(asset.asset_id, str) or not asset.asset_id.strip():
        raise AssetError(f"asset_id must be a non-empty string, got {asset.asset_id!r}")
    if not isinstance(asset.label, str) or not asset.label.strip():
        raise AssetError(f"{where}: label must be a non-empty string, got {asset.label!r}")
    if asset.kind not in KINDS:
        raise AssetError(
            f"{where}: kind {asset.kind!r} is unknown; use one of {KINDS}"
            f"{_did_you_mean(str(asset.kind), KINDS)}"
        )
    for name in RANGE_FIELDS:
        lo, hi = getattr(asset, name)
        top = math.inf if name == "size_range_m" else 1.0
        ok_lo = lo > 0 if name == "size_range_m" else lo >= 0
        if not (math.isfinite(lo) and math.isfinite(hi) and ok_lo and lo <= hi <= top):
            bound = "0 < min <= max" if name == "size_range_m" else "0 <= min <= max <= 1"
            raise AssetError(f"{where}: {name} {(lo, hi)!r} is invalid; need {bound}")
    _validate_params(asset.kind, asset.params, where=where)


def _validate_params(kind: str, params: Mapping[str, Any], *, where: str) -> None:
    if kind == "primitive":
        _validate_part(params, where=f"{where} params")
    elif kind == "composite":
        parts = params.get("parts")
        if not isinstance(parts, list) or not parts:
            raise AssetError(f"{where}: params['parts'] must be a non-empty list of parts")
        _check_keys(params, ("parts",), where=f"{where} params")
        for i, part in enumerate(parts):
            _validate_part(part, where=f"{where} params['parts'][{i}]")
    elif kind == "glyph":
        _check_keys(params, _GLYPH_KEYS, where=f"{where} params")
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise AssetError(f"{where}: params['text'] must be a non-empty string, got {text!r}")
        depth = params.get("depth", DEFAULT_GLYPH_DEPTH)
        if not _is_positive(depth):
            raise AssetError(f"{where}: params['depth'] must be > 0, got {depth!r}")
        font = params.get("font", DEFAULT_GLYPH_FONT)
        try:
            shipped = isinstance(font, str) and _font_path(font).is_file()
        except PathEscapeError:
            shipped = False
        if not shipped:
            raise AssetError(
                f"{where}: params['font'] {font!r} is not a font file shipped with matplotlib; "
                f"use a name from mpl-data/fonts/ttf such as {DEFAULT_GLYPH_FONT!r}"
            )
    elif kind == "mesh":
        _check_keys(params, _MESH_KEYS, where=f"{where} params")
        path = params.get("path")
        if not isinstance(path, str) or not path.strip():
            raise AssetError(f"{where}: params['path'] must be a file path, got {path!r}")
        _check_mesh_suffix(Path(path), where=f"{where} params['path']")
        if "rotate_deg" in params:
            _check_vector(params["rotate_deg"], "rotate_deg", where=f"{where} params")


def _validate_part(spec: Any, *, where: str) -> None:
    if not isinstance(spec, Mapping):
        raise AssetError(f"{where} must be a mapping with a 'shape', got {spec!r}")
    shape = spec.get("shape")
    if shape not in _SHAPE_DEFAULTS:
        raise AssetError(
            f"{where}: shape {shape!r} is unknown; use one of {SHAPES}"
            f"{_did_you_mean(str(shape), SHAPES)}"
        )
    defaults = _SHAPE_DEFAULTS[shape]
    _check_keys(spec, (*_PART_KEYS, *defaults), where=f"{where} ({shape})")
    for key in ("translate", "rotate_deg"):
        if key in spec:
            _check_vector(spec[key], key, where=where)
    for key in defaults:
        if key not in spec:
            continue
        value = spec[key]
        if key == "extents":
            _check_vector(value, key, where=where)
            ok = all(v > 0 for v in value)
        elif key in _INT_PARAMS:
            ok = isinstance(value, int) and not isinstance(value, bool) and value >= 1
        else:
            ok = _is_positive(value)
        if not ok:
            raise AssetError(f"{where}: {key} must be positive, got {value!r}")
    if shape == "capsule":
        p = {**defaults, **spec}
        if float(p["height"]) < 2.0 * float(p["radius"]):
            raise AssetError(
                f"{where}: capsule height {p['height']!r} is less than 2 * radius {p['radius']!r}"
            )


def _check_keys(mapping: Mapping[str, Any], allowed: Sequence[str], *, where: str) -> None:
    for key in mapping:
        if key not in allowed:
            raise AssetError(
                f"{where}: unknown key {key!r}; allowed {tuple(allowed)}"
                f"{_did_you_mean(str(key), allowed)}"
            )


def _check_vector(value: Any, key: str, *, where: str) -> None:
    ok = (isinstance(value, list) and len(value) == 3
          and all(_is_number(v) and math.isfinite(v) for v in value))
    if not ok:
        raise AssetError(f"{where}: {key} must be three finite numbers, got {value!r}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_positive(value: Any) -> bool:
    return _is_number(value) and math.isfinite(value) and value > 0


# --- the shipped catalog -------------------------------------------------------------

def _look(hue: tuple[float, float], saturation: tuple[float, float],
          value: tuple[float, float], roughness: tuple[float, float],
          metallic: tuple[float, float]) -> dict[str, tuple[float, float]]:
    """Colour and material ranges as Asset keyword arguments."""
    return {"hue_range": hue, "saturation_range": saturation, "value_range": value,
            "roughness_range": roughness, "metallic_range": metallic}


_ANY_HUE = (0.0, 1.0)
_GLYPH_LOOK = _look(_ANY_HUE, (0.0, 1.0), (0.2, 1.0), (0.2, 0.9), (0.0, 0.5))
_PRIMITIVE_LOOK = _look(_ANY_HUE, (0.3, 1.0), (0.3, 1.0), (0.1, 0.9), (0.0, 0.8))
_VEHICLE_LOOK = _look(_ANY_HUE, (0.0, 1.0), (0.15, 1.0), (0.1, 0.5), (0.3, 1.0))
_WOOD_LOOK = _look((0.05, 0.12), (0.3, 0.7), (0.2, 0.7), (0.4, 0.9), (0.0, 0.05))
_FOLIAGE_LOOK = _look((0.22, 0.42), (0.4, 0.9), (0.2, 0.7), (0.6, 1.0), (0.0, 0.0))
_CERAMIC_LOOK = _look(_ANY_HUE, (0.0, 0.9), (0.3, 1.0), (0.1, 0.4), (0.0, 0.1))
_LAMP_LOOK = _look(_ANY_HUE, (0.0, 0.6), (0.2, 1.0), (0.2, 0.8), (0.0, 0.9))


def _box(extents: Sequence[float], at: Sequence[float]) -> dict[str, Any]:
    return {"shape": "box", "extents": list(extents), "translate": list(at)}


def _wheels(radius: float, width: float, x: float, zs: Sequence[float]) -> list[dict[str, Any]]:
    """Cylinders with their axis along X, touching the ground (y = 0)."""
    return [{"shape": "cylinder", "radius": radius, "height": width, "rotate_deg": [0, 0, 90],
             "translate": [sx * x, radius, z]} for z in zs for sx in (-1, 1)]


def _legs(size: Sequence[float], x: float, z: float) -> list[dict[str, Any]]:
    """Four legs standing on the ground at (+-x, +-z)."""
    return [_box(size, [sx * x, size[1] / 2, sz * z]) for sz in (-1, 1) for sx in (-1, 1)]


def _builtin_assets() -> list[Asset]:
    assets = [
        Asset(f"digit_{d}", str(d), "glyph", ("digit", "glyph"), (0.2, 1.0),
              params={"text": str(d), "depth": DEFAULT_GLYPH_DEPTH}, **_GLYPH_LOOK)
        for d in range(10)
    ]
    assets += [
        Asset(f"glyph_{c}", c, "glyph", ("glyph", "letter", "distractor"), (0.2, 1.0),
              params={"text": c, "depth": DEFAULT_GLYPH_DEPTH}, **_GLYPH_LOOK)
        for c in "ABX"
    ]
    assets += [
        Asset(name, name, "primitive", ("primitive", "distractor"), (0.1, 1.0),
              params={"shape": shape, **_SHAPE_DEFAULTS[shape]}, **_PRIMITIVE_LOOK)
        for name, shape in [("cube", "box"), ("sphere", "sphere"), ("cylinder", "cylinder"),
                            ("cone", "cone"), ("torus", "torus"), ("capsule", "capsule")]
    ]
    trunk = {"shape": "cylinder", "radius": 0.15, "height": 1.0, "translate": [0, 0.5, 0]}
    composites = [
        ("car", "car", "vehicle", (3.5, 5.0), _VEHICLE_LOOK, [
            _box([1.8, 0.6, 4.2], [0, 0.55, 0]),
            _box([1.5, 0.5, 2.0], [0, 1.1, -0.3]),
            *_wheels(0.35, 0.3, 0.85, [1.35, -1.35]),
        ]),
        ("truck", "truck", "vehicle", (5.0, 9.0), _VEHICLE_LOOK, [
            _box([2.0, 0.3, 6.0], [0, 0.6, 0]),
            _box([2.0, 1.4, 1.6], [0, 1.45, 2.1]),
            _box([2.2, 2.2, 4.0], [0, 1.85, -0.9]),
            *_wheels(0.45, 0.35, 1.0, [2.0, -0.8, -2.2]),
        ]),
        ("mug", "mug", "kitchen", (0.08, 0.14), _CERAMIC_LOOK, [
            {"shape": "cylinder", "radius": 0.4, "height": 1.0, "translate": [0, 0.5, 0]},
            {"shape": "torus", "major_radius": 0.25, "minor_radius": 0.06,
             "rotate_deg": [90, 0, 0], "translate": [0.4, 0.5, 0]},
        ]),
        ("table", "table", "furniture", (0.8, 2.0), _WOOD_LOOK, [
            _box([2.0, 0.1, 1.2], [0, 1.0, 0]),
            *_legs([0.1, 0.95, 0.1], 0.9, 0.5),
        ]),
        ("chair", "chair", "furniture", (0.8, 1.1), _WOOD_LOOK, [
            _box([0.9, 0.1, 0.9], [0, 0.55, 0]),
            *_legs([0.08, 0.5, 0.08], 0.38, 0.38),
            _box([0.9, 0.9, 0.08], [0, 1.05, -0.41]),  # the back is at -Z, the front +Z
        ]),
        ("tree", "tree", "plant", (3.0, 15.0), _FOLIAGE_LOOK, [
            trunk,
            {"shape": "cone", "radius": 0.8, "height": 2.0, "translate": [0, 2.0, 0]},
        ]),
        ("tree_round", "tree", "plant", (3.0, 12.0), _FOLIAGE_LOOK, [
            trunk,
            {"shape": "sphere", "radius": 0.7, "subdivisions": 3, "translate": [0, 1.6, 0]},
        ]),
        ("lamp", "lamp", "furniture", (0.3, 1.8), _LAMP_LOOK, [
            {"shape": "cylinder", "radius": 0.3, "height": 0.08, "translate": [0, 0.04, 0]},
            {"shape": "cylinder", "radius": 0.03, "height": 1.2, "translate": [0, 0.68, 0]},
            {"shape": "cone", "radius": 0.35, "height": 0.4, "translate": [0, 1.35, 0]},
        ]),
    ]
    assets += [
        Asset(asset_id, label, "composite", (tag,), size_m, params={"parts": parts}, **look)
        for asset_id, label, tag, size_m, look, parts in composites
    ]
    return assets
