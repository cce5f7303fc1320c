"""Glyph shape: slant, aspect, elastic deformation and stroke offset of a font outline, and
the extruded unit mesh of a glyph drawn with them (the ``glyph`` randomizer's geometry).

Every operation works on the outline in glyph-height units (the undeformed glyph's
bounding box centred at 0 and 1 high), so a knob means the same for every font and size.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np
import shapely
import trimesh
from shapely import affinity
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.polygon import orient

from generators.assets import (
    DEFAULT_GLYPH_DEPTH,
    DEFAULT_GLYPH_FONT,
    Asset,
    glyph_outline,
    normalise_mesh,
)
from generators.errors import RecipeError
from generators.scene_spec import GlyphShape

#: Text fonts shipped in matplotlib's ``mpl-data/fonts/ttf`` that have Latin letters and
#: digits (the Display, STIXNonUni, STIXSiz*, math and LastResort fonts do not).
GLYPH_FONTS: tuple[str, ...] = (
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf",
    "DejaVuSans-BoldOblique.ttf", "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf",
    "DejaVuSansMono-Oblique.ttf", "DejaVuSansMono-BoldOblique.ttf", "DejaVuSerif.ttf",
    "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf", "DejaVuSerif-BoldItalic.ttf",
    "STIXGeneral.ttf", "STIXGeneralBol.ttf", "STIXGeneralItalic.ttf", "STIXGeneralBolIta.ttf",
    "cmr10.ttf", "cmb10.ttf", "cmss10.ttf", "cmti10.ttf", "cmtt10.ttf",
)

#: Sine waves summed into the elastic field (random Fourier features of a Gaussian kernel).
ELASTIC_WAVES = 32
#: Longest outline segment before an elastic displacement (glyph heights): straight edges
#: must bend too, so they are cut into pieces first.
ELASTIC_SEGMENT = 0.02
_MIN_AREA = 1e-6  # slivers left by an offset or a fold, in glyph heights squared


def unit_outline(polygons: Sequence[Polygon]) -> MultiPolygon:
    """The outline moved and scaled so its bounding box is centred at 0 and 1 high."""
    outline = MultiPolygon(list(polygons))
    x0, y0, x1, y1 = outline.bounds
    height = y1 - y0
    return affinity.affine_transform(outline, [1 / height, 0, 0, 1 / height,
                                               -(x0 + x1) / 2 / height, -(y0 + y1) / 2 / height])


def slant_and_aspect(outline: shapely.Geometry, slant_deg: float, aspect: float
                     ) -> shapely.Geometry:
    """Scale x by ``aspect``, then shear about y = 0: a point at height y moves right by
    ``tan(slant_deg) * y`` (the top of a bar 1 high moves ``tan(slant)`` past its foot)."""
    shear = math.tan(math.radians(slant_deg))
    return affinity.affine_transform(outline, [aspect, shear, 0, 1, 0, 0])


def elastic_displacement(points: np.ndarray, amplitude: float, scale: float, seed: int,
                         ) -> np.ndarray:
    """A smooth random displacement of 2-D ``points`` (N x 2), the same field for one seed.

    A sum of :data:`ELASTIC_WAVES` random cosines (random Fourier features): each component
    is a Gaussian field with standard deviation ``amplitude`` and correlation
    ``exp(-d^2 / (2 scale^2))`` between points ``d`` apart, so ``scale`` sets how local the
    wobble is; the field is defined everywhere, not on a grid.
    """
    rng = np.random.default_rng(seed)
    freq = rng.normal(size=(ELASTIC_WAVES, 2)) / scale
    phase = rng.uniform(0.0, 2 * math.pi, ELASTIC_WAVES)
    coef = rng.normal(size=(ELASTIC_WAVES, 2))
    xy = np.asarray(points, dtype=float)
    # Elementwise, not a matrix product: BLAS may round rows differently, and a ring's
    # first and last point must move alike (and results must not depend on the machine).
    waves = np.cos(xy[:, :1] * freq[:, 0] + xy[:, 1:] * freq[:, 1] + phase)
    return amplitude * math.sqrt(2.0 / ELASTIC_WAVES) * (waves[:, :, None] * coef).sum(axis=1)


def elastic(outline: shapely.Geometry, amplitude: float, scale: float, seed: int
            ) -> shapely.Geometry:
    """``outline`` bent by :func:`elastic_displacement`; folds are repaired (make_valid)."""
    if amplitude == 0:
        return outline
    dense = shapely.segmentize(outline, ELASTIC_SEGMENT)
    moved = shapely.transform(
        dense, lambda xy: xy + elastic_displacement(xy, amplitude, scale, seed))
    return shapely.make_valid(moved)


def offset_stroke(outline: shapely.Geometry, stroke: float) -> shapely.Geometry:
    """Move every edge of ``outline`` outwards by ``stroke`` (inwards when negative): strokes
    get ``2 * stroke`` wider, and parts thinner than ``-2 * stroke`` vanish."""
    if stroke == 0:
        return outline
    return outline.buffer(stroke, quad_segs=4)


def polygons_of(geometry: shapely.Geometry) -> list[Polygon]:
    """The polygons of a geometry (of a collection's parts), slivers left out."""
    parts = getattr(geometry, "geoms", [geometry])
    out: list[Polygon] = []
    for part in parts:
        if isinstance(part, Polygon):
            if part.area > _MIN_AREA:
                out.append(part)
        elif hasattr(part, "geoms"):
            out.extend(polygons_of(part))
    return out


def deform_outline(polygons: Sequence[Polygon], shape: GlyphShape) -> list[Polygon]:
    """A glyph outline with ``shape`` applied, in glyph-height units.

    Order: aspect and slant (the letterform), then the elastic wobble, then the stroke
    offset last, so the stroke width is the same along the whole deformed glyph, as a pen's.
    """
    outline = slant_and_aspect(unit_outline(polygons), shape.slant_deg, shape.aspect)
    outline = elastic(outline, shape.elastic, shape.elastic_scale, shape.elastic_seed)
    return polygons_of(offset_stroke(outline, shape.stroke))


def shaped_glyph_mesh(asset: Asset, shape: GlyphShape) -> trimesh.Trimesh:
    """The unit mesh (bounding box centred, longest extent 1) of glyph ``asset`` drawn with
    ``shape``; cached per text, depth, font and shape, a fresh copy each call.

    Raises :class:`RecipeError` when the stroke offset erases the glyph.
    """
    params = asset.params
    font = shape.font or params.get("font", DEFAULT_GLYPH_FONT)
    return _shaped_mesh(params["text"], float(params.get("depth", DEFAULT_GLYPH_DEPTH)), font,
                        shape).copy()


@functools.lru_cache(maxsize=32)
def _shaped_mesh(text: str, depth: float, font: str, shape: GlyphShape) -> trimesh.Trimesh:
    polygons = deform_outline(glyph_outline(text, font), shape)
    if not polygons:
        raise RecipeError(f"randomizers.glyph.stroke = {shape.stroke:g} erases glyph {text!r} "
                          f"in font {font!r} (its strokes are thinner than "
                          f"{-2 * shape.stroke:g} glyph heights): raise the stroke range's min")
    return normalise_mesh(extrude_flat(polygons, depth), where=f"glyph {text!r}")


def extrude_flat(polygons: Sequence[Polygon], depth: float) -> trimesh.Trimesh:
    """Extrude polygons along +Z by ``depth`` times their height, as a flat-shaded mesh.

    What :func:`generators.assets.extrude_outline` makes, without trimesh's vertex merging
    and checks (about 3x faster; the renderer unmerges vertices anyway): caps from the
    polygon triangulation, and two triangles per outline edge, each face with its own
    vertices, wound so normals point out.
    """
    y0 = min(p.bounds[1] for p in polygons)
    height = depth * (max(p.bounds[3] for p in polygons) - y0)
    vertices, faces = [], []
    count = 0
    for polygon in polygons:
        polygon = orient(polygon, 1.0)  # shell counter-clockwise, holes clockwise
        flat, tris = trimesh.creation.triangulate_polygon(polygon)
        tris = np.asarray(tris)
        n = len(flat)
        vertices += [np.c_[flat, np.zeros(n)], np.c_[flat, np.full(n, height)]]
        faces += [tris[:, ::-1] + count, tris + count + n]
        count += 2 * n
        for ring in (polygon.exterior, *polygon.interiors):
            a = np.asarray(ring.coords)[:-1]
            b = np.roll(a, -1, axis=0)
            m = len(a)
            vertices.append(np.concatenate([np.c_[a, np.zeros(m)], np.c_[b, np.zeros(m)],
                                            np.c_[b, np.full(m, height)],
                                            np.c_[a, np.full(m, height)]]))
            quad = count + np.arange(m)[:, None] + m * np.arange(4)
            faces += [quad[:, [0, 1, 2]], quad[:, [0, 2, 3]]]
            count += 4 * m
    return trimesh.Trimesh(np.concatenate(vertices), np.concatenate(faces), process=False)
