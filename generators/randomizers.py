"""The named randomizers: their parameter table (:data:`RANDOMIZERS`) and the draws that
implement them (materials, placement, lights, colours), each from its own seeded stream.

:mod:`generators.scene` calls these in a fixed order; :mod:`generators.recipe` validates
recipes against the table.
"""

from __future__ import annotations

import colorsys
import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from generators.assets import DEFAULT_GLYPH_FONT
from generators.glyphs import GLYPH_FONTS
from generators.scene_spec import GlyphShape, Light, Material
from generators.textures import TEXTURE_KINDS

if TYPE_CHECKING:
    from generators.assets import Asset
    from generators.recipe import Recipe


@dataclass(frozen=True)
class Param:
    """One randomized parameter: its kind, default range, and the value it is held at."""

    kind: str  # "float" (range), "int" (range), "prob" (0..1), "choice" (subset of options)
    default: Any
    held: Any  # value when the randomizer is off/ablated; "mid" = middle of the range
    lo: float | None = None  # hard bounds a range must stay inside
    hi: float | None = None
    options: tuple[str, ...] = ()


#: The named randomizers and their parameters. Each can be switched off (held at ``held``).
RANDOMIZERS: dict[str, dict[str, Param]] = {
    "materials": {
        "hue": Param("float", None, "mid", 0, 1),  # None: the asset's own range
        "saturation": Param("float", None, "mid", 0, 1),
        "value": Param("float", None, "mid", 0, 1),
        "roughness": Param("float", (0.2, 0.9), "mid", 0, 1),
        "metallic": Param("float", (0.0, 0.4), 0.0, 0, 1),
        # Distractor ("wrong") textures on labelled objects: the car-paint-leaves trick.
        "texture_prob": Param("prob", 0.0, 0.0, 0, 1),
        "textures": Param("choice", TEXTURE_KINDS, (), options=TEXTURE_KINDS),
    },
    "lighting": {
        "count": Param("int", (1, 3), 1, 1, 8),
        # Key-light direction in the camera frame: azimuth 0 = from the camera, +90 = from
        # image right, -90 = from image left; elevation above the camera's horizon.
        "azimuth_deg": Param("float", (-90.0, 90.0), 0.0, -180, 180),
        "elevation_deg": Param("float", (10.0, 70.0), 30.0, -90, 90),
        "intensity": Param("float", (2.0, 6.0), "mid", 0, 100),
        "color_temp_k": Param("float", (2700.0, 7500.0), 6500.0, 1000, 40000),
        "ambient": Param("float", (0.05, 0.4), "mid", 0, 2),
    },
    "camera": {
        "distance_m": Param("float", (2.5, 3.5), "mid", 0.05, 1000),
        "yaw_deg": Param("float", (-30.0, 30.0), "mid", -180, 180),
        "pitch_deg": Param("float", (-20.0, 20.0), "mid", -89, 89),
        "roll_deg": Param("float", (-10.0, 10.0), 0.0, -180, 180),
        "focal_mm": Param("float", (35.0, 70.0), "mid", 5, 1000),
    },
    "pose": {
        "yaw_deg": Param("float", (-30.0, 30.0), 0.0, -180, 180),
        "pitch_deg": Param("float", (-20.0, 20.0), 0.0, -180, 180),
        "roll_deg": Param("float", (-15.0, 15.0), 0.0, -180, 180),
    },
    "background": {
        "kinds": Param("choice", ("flat", "gradient", "texture"), ("flat",),
                       options=("flat", "gradient", "texture", "workspace")),
        "hue": Param("float", (0.0, 1.0), 0.0, 0, 1),
        "saturation": Param("float", (0.0, 0.6), 0.0, 0, 1),
        "value": Param("float", (0.1, 0.9), "mid", 0, 1),
    },
    "distractors": {"count": Param("int", (0, 3), 0, 0, 64)},
    "occluders": {"count": Param("int", (0, 1), 0, 0, 16)},
    "sensor": {
        "noise_std": Param("float", (0.0, 0.03), 0.0, 0, 1),
        "blur_sigma_px": Param("float", (0.0, 1.0), 0.0, 0, 50),
        "gamma": Param("float", (0.8, 1.25), 1.0, 0.05, 10),
        "saturation": Param("float", (0.7, 1.0), 1.0, 0, 1),
        "exposure": Param("float", (1.0, 1.3), 1.0, 0.01, 100),
        "jpeg_quality": Param("int", (0, 0), 0, 0, 95),
    },
    # The shape of glyph targets (generators.glyphs); lengths in glyph heights. Held, it is
    # the asset's own outline.
    "glyph": {
        "stroke": Param("float", (-0.02, 0.02), 0.0, -0.1, 0.2),
        "slant_deg": Param("float", (-12.0, 12.0), 0.0, -45, 45),
        "aspect": Param("float", (0.8, 1.1), 1.0, 0.3, 3),
        "elastic": Param("float", (0.0, 0.02), 0.0, 0, 0.2),
        "elastic_scale": Param("float", (0.15, 0.4), "mid", 0.05, 2),
        "fonts": Param("choice", (), (), options=GLYPH_FONTS),  # (): the asset's own font
    },
}

#: Randomizers that are part of a recipe's config only when the recipe names them, so
#: recipes written before they existed keep their config hash and their samples.
OPTIONAL_RANDOMIZERS = frozenset({"glyph"})

def stream(seed: int, name: str) -> np.random.Generator:
    """The named child stream of a per-sample seed (one per randomizer)."""
    return np.random.default_rng(np.random.SeedSequence(int(seed),
                                                        spawn_key=(zlib.crc32(name.encode()),)))

def draw(rng: np.random.Generator, spec: Mapping[str, Any], on: bool,
          fallback: Sequence[float] | None = None, kind: str = "float") -> Any:
    rng_range = spec["range"] if spec["range"] is not None else fallback
    if not on:
        held = spec["held"]
        if held == "mid":
            lo, hi = rng_range
            return int(round((lo + hi) / 2)) if kind == "int" else (lo + hi) / 2
        return held
    lo, hi = rng_range
    if kind == "int":
        return int(rng.integers(int(lo), int(hi) + 1))
    return float(rng.uniform(lo, hi)) if hi > lo else float(lo)


def choice(rng: np.random.Generator, options: Sequence[Any]) -> Any:
    return options[int(rng.integers(len(options)))]

def kelvin_to_rgb(kelvin: float) -> tuple[float, float, float]:
    """Approximate RGB of a black body (Tanner Helland's fit), max channel 1."""
    t = kelvin / 100.0
    if t <= 66:
        r = 255.0
        g = 99.4708025861 * math.log(t) - 161.1195681661
        b = 0.0 if t <= 19 else 138.5177312231 * math.log(t - 10) - 305.0447927307
    else:
        r = 329.698727446 * (t - 60) ** -0.1332047592
        g = 288.1221695283 * (t - 60) ** -0.0755148492
        b = 255.0
    rgb = np.clip([r, g, b], 0, 255) / 255.0
    return tuple(float(v) for v in rgb / max(rgb.max(), 1e-6))


def hsv(h: float, s: float, v: float) -> tuple[float, float, float]:
    return tuple(float(c) for c in colorsys.hsv_to_rgb(h, s, v))

def material(rng: np.random.Generator, recipe: Recipe, asset: Asset, on: bool) -> Material:
    p = recipe.params("materials")
    hue = draw(rng, p["hue"], on, asset.hue_range)
    sat = draw(rng, p["saturation"], on, asset.saturation_range)
    val = draw(rng, p["value"], on, asset.value_range)
    rough = draw(rng, p["roughness"], on, asset.roughness_range)
    metal = draw(rng, p["metallic"], on, asset.metallic_range)
    textures = p["textures"]["range"]
    u = float(rng.uniform()) if on else 1.0
    tex_seed = int(rng.integers(2**31)) if on else 0
    texture = None
    if on and textures and u < p["texture_prob"]["range"]:
        texture = choice(rng, textures)
    return Material(hsv(hue, sat, val), rough, metal, texture, tex_seed)


def glyph_shape(rng: np.random.Generator, recipe: Recipe, asset: Asset, on: bool
                ) -> GlyphShape | None:
    """The drawn shape of a glyph target (``font`` None: the asset's own); None for other
    assets."""
    if asset.kind != "glyph":
        return None
    p = recipe.params("glyph")
    stroke, slant, aspect, amplitude, scale = (
        draw(rng, p[n], on) for n in ("stroke", "slant_deg", "aspect", "elastic",
                                      "elastic_scale"))
    seed = int(rng.integers(2**31)) if on else 0
    fonts = p["fonts"]["range"] if on else p["fonts"]["held"]
    font = (choice(rng, fonts) if on else fonts[0]) if fonts else None
    own = asset.params.get("font", DEFAULT_GLYPH_FONT)
    return GlyphShape(stroke, slant, aspect, amplitude, scale, seed,
                      None if font == own else font)


def glyph_attributes(shape: GlyphShape | None, asset: Asset) -> dict[str, Any]:
    """The sample columns of a drawn glyph shape (the neutral values for other assets)."""
    font = asset.params.get("font", DEFAULT_GLYPH_FONT) if asset.kind == "glyph" else "none"
    shape = shape or GlyphShape(elastic_scale=0.0)
    return {"glyph_stroke": shape.stroke, "glyph_slant_deg": shape.slant_deg,
            "glyph_aspect": shape.aspect, "glyph_elastic": shape.elastic,
            "glyph_elastic_scale": shape.elastic_scale, "glyph_font": shape.font or font}


def wrong_material(rng: np.random.Generator) -> Material:
    """Distractors always get a random colour and a procedural texture."""
    rgb = hsv(float(rng.uniform()), float(rng.uniform(0.2, 1)), float(rng.uniform(0.3, 1)))
    return Material(rgb, float(rng.uniform(0.2, 1)), float(rng.uniform(0, 0.5)),
                    choice(rng, TEXTURE_KINDS), int(rng.integers(2**31)))

def place(rng: np.random.Generator, i: int, k: int, radius: float, size: float,
           placed: list[tuple[np.ndarray, float]], on: bool) -> tuple[float, float]:
    """x, z of object ``i`` of ``k``: random without overlaps when on, a fixed row when held."""
    if radius <= 0 or (k == 1 and not on):
        return (0.0, 0.0)
    if not on:
        spacing = 2 * radius / max(k - 1, 1)
        return (-radius + i * spacing if k > 1 else 0.0, 0.0)
    # 32 candidates on the disc (a fixed number of draws keeps the stream aligned); keep
    # the one farthest from the objects already placed.
    u = rng.uniform(size=(32, 2))
    r, a = radius * np.sqrt(u[:, 0]), 2 * math.pi * u[:, 1]
    xz = np.stack([r * np.cos(a), r * np.sin(a)], axis=1)
    if not placed:
        return float(xz[0, 0]), float(xz[0, 1])
    centres = np.array([[p[0], p[2]] for p, _ in placed])
    half = np.array([s for _, s in placed]) / 2 + size / 2
    gaps = (np.linalg.norm(xz[:, None, :] - centres[None], axis=2) - half[None]).min(axis=1)
    best = int(np.argmax(gaps))
    return float(xz[best, 0]), float(xz[best, 1])


def light(cam_rot: np.ndarray, az_deg: float, el_deg: float,
           rgb: tuple[float, float, float], intensity: float) -> Light:
    az, el = math.radians(az_deg), math.radians(el_deg)
    towards_light = np.array([math.sin(az) * math.cos(el), math.sin(el),
                              math.cos(az) * math.cos(el)])
    travel = -(cam_rot @ towards_light)
    return Light(tuple(float(v) for v in travel), rgb, float(intensity))
