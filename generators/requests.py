"""Generation requests into recipes: "40 x label 3, pose_yaw_deg 30..60" as recipe overrides.

A report names what is missing by sample column (``pose_yaw_deg``); this module owns the
map from those columns to the randomizer parameters that produce them.
"""

from __future__ import annotations

import math
from typing import Any

from curator.requests import GenerationRequest
from generators.errors import RecipeError
from generators.recipe import RANDOMIZERS, Recipe, load_recipe

#: Sample column -> (randomizer, parameter). Columns not listed here describe the outcome of
#: a render (visibility, object size) rather than a knob, and cannot be requested directly.
COLUMN_PARAMS: dict[str, tuple[str, str]] = {
    "pose_yaw_deg": ("pose", "yaw_deg"),
    "pose_pitch_deg": ("pose", "pitch_deg"),
    "pose_roll_deg": ("pose", "roll_deg"),
    "mat_hue": ("materials", "hue"),
    "mat_roughness": ("materials", "roughness"),
    "mat_metallic": ("materials", "metallic"),
    "cam_distance_m": ("camera", "distance_m"),
    "cam_yaw_deg": ("camera", "yaw_deg"),
    "cam_pitch_deg": ("camera", "pitch_deg"),
    "cam_roll_deg": ("camera", "roll_deg"),
    "cam_focal_mm": ("camera", "focal_mm"),
    "light_count": ("lighting", "count"),
    "light_azimuth_deg": ("lighting", "azimuth_deg"),
    "light_elevation_deg": ("lighting", "elevation_deg"),
    "light_intensity": ("lighting", "intensity"),
    "color_temp_k": ("lighting", "color_temp_k"),
    "light_ambient": ("lighting", "ambient"),
    "bg_kind": ("background", "kinds"),
    "bg_hue": ("background", "hue"),
    "bg_saturation": ("background", "saturation"),
    "bg_value": ("background", "value"),
    "n_distractors": ("distractors", "count"),
    "n_occluders": ("occluders", "count"),
    **{f"sensor_{p}": ("sensor", p) for p in RANDOMIZERS["sensor"]},
    **{f"glyph_{p}": ("glyph", p) for p in RANDOMIZERS["glyph"] if p != "fonts"},
    "glyph_font": ("glyph", "fonts"),
}


def _is_choice(column: str) -> bool:
    """A column recording one of a set of options (``bg_kind``, ``glyph_font``)."""
    group, name = COLUMN_PARAMS[column]
    return RANDOMIZERS[group][name].kind == "choice"


def request_overrides(request: GenerationRequest) -> tuple[dict[str, Any], list[str]]:
    """Recipe overrides that confine a render to the request, and the columns left out.

    Ranges are clipped to each parameter's hard bounds (integers widened to whole numbers);
    a label becomes ``scene.objects.query.labels``. Columns with no randomizer behind them
    are returned in the second element so callers can say they were not applied.
    """
    randomizers: dict[str, dict[str, Any]] = {}
    skipped: list[str] = []
    for column, (lo, hi) in request.ranges.items():
        if column not in COLUMN_PARAMS or _is_choice(column):
            skipped.append(column)
            continue
        group, name = COLUMN_PARAMS[column]
        param = RANDOMIZERS[group][name]
        if param.lo is not None:
            lo, hi = max(lo, param.lo), min(hi, param.hi)
        if param.kind == "int":
            lo, hi = math.floor(lo), math.ceil(hi)
        if lo > hi:
            skipped.append(column)
            continue
        randomizers.setdefault(group, {})[name] = [lo, hi]
    for column, values in request.values.items():
        if column not in COLUMN_PARAMS or not _is_choice(column):
            skipped.append(column)
            continue
        group, name = COLUMN_PARAMS[column]
        randomizers.setdefault(group, {})[name] = list(values)
    overrides: dict[str, Any] = {}
    if randomizers:
        overrides["randomizers"] = randomizers
    if request.label is not None:
        overrides["scene"] = {"objects": {"query": {"labels": [request.label]}}}
    return overrides, skipped


def request_recipe(request: GenerationRequest, recipe: str | None = None
                   ) -> tuple[Recipe, list[str]]:
    """The recipe (``recipe``, else the request's own) narrowed to the request.

    Raises :class:`RecipeError` when no recipe is known or the narrowed one is invalid
    (e.g. a label the recipe's assets do not have).
    """
    spec = recipe or request.recipe
    if not spec:
        raise RecipeError(f"request '{request.describe()}' names no recipe; pass one "
                          "(e.g. --recipe digits3d)")
    overrides, skipped = request_overrides(request)
    try:  # overrides merge key by key, so the recipe's own query tags stay

        return load_recipe(spec, overrides), skipped
    except RecipeError as exc:
        raise RecipeError(f"request '{request.describe()}': {exc}") from None
