"""Synthetic data generators: procedural 3D scenes rendered offscreen with perfect labels,
label-consistent augmentation and sensor matching (see docs/generators.md).

Depends on the core (curator.schema, curator.store, ...) only; pyrender is imported in the
process that renders, never at import time. Augmentation runs over a workspace are
:func:`curator.workflows.augment.augment` (the affine maths stay in generators.augment).
"""

from generators.assets import Asset, AssetCatalog, build_mesh
from generators.errors import GeneratorError, RecipeError
from generators.preview import contact_sheet
from generators.recipe import BUILTIN_RECIPES, RANDOMIZERS, Recipe, load_recipe
from generators.run import generate, render_preview, shutdown_workers
from generators.sensor_match import match_sensor, match_sensor_to_workspace

__all__ = [
    "Asset", "AssetCatalog", "BUILTIN_RECIPES", "GeneratorError", "RANDOMIZERS", "Recipe",
    "RecipeError", "build_mesh", "contact_sheet", "generate", "load_recipe",
    "match_sensor", "match_sensor_to_workspace", "render_preview", "shutdown_workers",
]
