"""The scene description types: what one sampled scene is (objects, materials, lights,
camera, background, sensor settings), as plain frozen data with no GL and no randomness.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Material:
    rgb: tuple[float, float, float]
    roughness: float
    metallic: float
    texture: str | None = None  # procedural texture kind, see generators.textures
    texture_seed: int = 0


@dataclass(frozen=True)
class GlyphShape:
    """How a glyph's outline is changed before it is extruded (:mod:`generators.glyphs`).

    Lengths are relative to the undeformed glyph's height.
    """

    stroke: float = 0.0  # outline offset: > 0 bolder, < 0 thinner
    slant_deg: float = 0.0  # shear: the top moves right by tan(slant) x height
    aspect: float = 1.0  # x scale relative to y
    elastic: float = 0.0  # std of the smooth random displacement
    elastic_scale: float = 0.25  # correlation length of that displacement
    elastic_seed: int = 0
    font: str | None = None  # a font in matplotlib's mpl-data/fonts/ttf; None: the asset's

    @property
    def is_identity(self) -> bool:
        """True when the shape leaves the asset's own outline unchanged."""
        return (self.stroke == 0.0 and self.slant_deg == 0.0 and self.aspect == 1.0
                and self.elastic == 0.0 and self.font is None)


@dataclass(frozen=True)
class SceneObject:
    asset_id: str
    role: str  # "target" (labelled), "distractor", "occluder" or "ground"
    pose: tuple[tuple[float, ...], ...]  # 4×4 object-to-world, includes the uniform scale
    scale: float
    material: Material
    instance_id: int = 0  # 1..K for targets, 0 otherwise
    label: str | None = None
    class_index: int = 0
    shape: GlyphShape | None = None  # a drawn glyph shape; None: the asset's own mesh


@dataclass(frozen=True)
class Light:
    direction: tuple[float, float, float]  # world-frame direction the light travels
    rgb: tuple[float, float, float]
    intensity: float


@dataclass(frozen=True)
class Camera:
    pose: tuple[tuple[float, ...], ...]  # 4×4 camera-to-world (OpenGL: looks down -Z)
    yfov: float
    znear: float = 0.05
    zfar: float = 200.0


@dataclass(frozen=True)
class Background:
    kind: str  # flat | gradient | texture | workspace
    colors: tuple[tuple[float, float, float], ...]
    texture: str | None = None
    seed: int = 0
    image_index: int = -1  # index into the run's background image pool


@dataclass(frozen=True)
class SceneSpec:
    height: int
    width: int
    objects: tuple[SceneObject, ...]
    lights: tuple[Light, ...]
    ambient: float
    camera: Camera
    background: Background
    sensor: Mapping[str, float]
    attributes: Mapping[str, Any] = field(default_factory=dict)

    @property
    def targets(self) -> list[SceneObject]:
        return [o for o in self.objects if o.role == "target"]
