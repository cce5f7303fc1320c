"""Synthetic data generators: procedural 3D scenes rendered offscreen with perfect labels,
label-consistent augmentation and sensor matching (see docs/generators.md).

Depends on the core (curator.schema, curator.store, ...) only; pyrender is imported in the
process that renders, never at import time.
"""

from generators.assets import Asset, AssetCatalog, build_mesh
from generators.augment_run import augment
from generators.errors import GeneratorError, RecipeError
from generators.preview import contact_sheet
from generators.recipe import BUILTIN_RECIPES, RANDOMIZERS, Recipe, load_recipe
from generators.run import generate, render_preview, shutdown_workers
from generators.sensor_match import match_sensor, match_sensor_to_workspace

__all__ = [
    "Asset", "AssetCatalog", "BUILTIN_RECIPES", "GeneratorError", "RANDOMIZERS", "Recipe",
    "RecipeError", "augment", "build_mesh", "contact_sheet", "generate", "load_recipe",
    "match_sensor", "match_sensor_to_workspace", "render_preview", "shutdown_workers",
]
