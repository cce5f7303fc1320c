"""Recipes: which scene to build and which named randomizers vary it, within which ranges.

A recipe is a YAML/JSON mapping, validated here before any rendering; its config hash (of
everything that changes the pixels, not of ``n`` or ``seed``) is stored on every sample.
"""

from __future__ import annotations

import copy
import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from numbers import Real
from pathlib import Path
from typing import Any

import yaml

from curator.hashing import config_hash
from curator.validation import check_scalar
from generators.errors import RecipeError
from generators.output import check_chain
from generators.randomizers import OPTIONAL_RANDOMIZERS, RANDOMIZERS, Param

#: Bump when the same recipe and seed would render different pixels.
GENERATOR_VERSION = "1"


_TOP_KEYS = {"name", "description", "size", "scene", "randomizers", "labels", "output"}
_SCENE_KEYS = {"objects", "ground", "placement_radius_m", "distractors", "occluders"}
_QUERY_KEYS = {"label", "labels", "tags", "any_tags", "exclude_tags", "kind"}
_LABEL_KEYS = {"min_pixels", "occluded_below"}
_OUTPUT_KEYS = {"size", "grayscale", "levels", "invert", "chain"}


def _close(name: str, options: Any) -> str:
    match = difflib.get_close_matches(name, list(options), n=1)
    return f" (did you mean {match[0]!r}?)" if match else ""


def _unknown_keys(section: Mapping[str, Any], allowed: set[str], where: str) -> None:
    for key in section:
        if key not in allowed:
            raise RecipeError(f"{where}: unknown key {key!r}{_close(key, allowed)}; "
                              f"allowed: {', '.join(sorted(allowed))}")


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise RecipeError(f"{where} must be a mapping, got {type(value).__name__}")
    return dict(value)


def _number(value: Any, where: str) -> float:
    return check_scalar(value, where, Real, error=RecipeError,
                        message="{name} must be a number, got {value!r}")


def _range(value: Any, param: Param, where: str) -> tuple[float, float]:
    """A [lo, hi] pair (a single number means fixed), checked for order and bounds."""
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise RecipeError(f"{where} must be [min, max], got {list(value)!r}")
        lo, hi = (_number(v, where) for v in value)
    else:
        lo = hi = _number(value, where)
    if lo > hi:
        raise RecipeError(f"{where} is an inverted range [{lo:g}, {hi:g}]: min must be <= max")
    if param.kind == "int":
        if lo != int(lo) or hi != int(hi):
            raise RecipeError(f"{where} must be whole numbers, got [{lo:g}, {hi:g}]")
        if lo < 0:
            raise RecipeError(f"{where} is a count and cannot be negative, got {lo:g}")
    for bound, ok in ((param.lo, lo >= (param.lo if param.lo is not None else lo)),
                      (param.hi, hi <= (param.hi if param.hi is not None else hi))):
        if not ok:
            raise RecipeError(f"{where} = [{lo:g}, {hi:g}] leaves the allowed interval "
                              f"[{param.lo:g}, {param.hi:g}] (bound {bound:g})")
    return lo, hi


def _count(value: Any, where: str) -> tuple[int, int]:
    lo, hi = _range(value, Param("int", None, None, 0, 10_000), where)
    return int(lo), int(hi)


def _check_param(name: str, param: Param, value: Any, where: str) -> Any:
    if param.kind == "choice":
        items = [value] if isinstance(value, str) else list(value or [])
        for item in items:
            if item not in param.options:
                raise RecipeError(f"{where}: unknown option {item!r}{_close(item, param.options)}"
                                  f"; choose from {', '.join(param.options)}")
        return tuple(items)
    if param.kind == "prob":
        p = _number(value, where)
        if not 0.0 <= p <= 1.0:
            raise RecipeError(f"{where} is a probability and must be in [0, 1], got {p:g}")
        return p
    if value is None:
        return None
    lo, hi = _range(value, param, where)
    return (int(lo), int(hi)) if param.kind == "int" else (lo, hi)


def _check_query(query: Mapping[str, Any], where: str) -> dict[str, Any]:
    query = _mapping(query, where)
    _unknown_keys(query, _QUERY_KEYS, where)
    return query


@dataclass(frozen=True)
class Recipe:
    """A validated recipe. Build one with :func:`load_recipe` or :meth:`Recipe.from_dict`."""

    name: str
    config: Mapping[str, Any]  # normalised: every section and randomizer param present
    enabled: tuple[str, ...]  # randomizers that vary; the rest are held at their defaults
    ablated: tuple[str, ...] = ()  # randomizers turned off by :meth:`ablate`

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "recipe") -> Recipe:
        data = _mapping(data, where)
        _unknown_keys(data, _TOP_KEYS, where)
        name = data.get("name")
        if not isinstance(name, str) or not name:
            raise RecipeError(f"{where}: 'name' must be a non-empty string")
        size = data.get("size", 128)
        sizes = size if isinstance(size, (list, tuple)) else [size, size]
        try:
            if len(sizes) != 2:
                raise RecipeError("size needs a height and a width")
            sizes = [check_scalar(s, "size", min_val=8, max_val=4096, error=RecipeError)
                     for s in sizes]
        except RecipeError:
            raise RecipeError(f"{where}: 'size' must be a pixel count in 8..4096 or "
                              f"[height, width], got {size!r}") from None
        scene = _mapping(data.get("scene"), f"{where}.scene")
        _unknown_keys(scene, _SCENE_KEYS, f"{where}.scene")
        objects = _mapping(scene.get("objects"), f"{where}.scene.objects")
        _unknown_keys(objects, {"query", "count", "size_m"}, f"{where}.scene.objects")
        norm_scene = {
            "objects": {
                "query": _check_query(objects.get("query", {}), f"{where}.scene.objects.query"),
                "count": _count(objects.get("count", 1), f"{where}.scene.objects.count"),
                "size_m": (None if objects.get("size_m") is None else _range(
                    objects["size_m"], Param("float", None, None, 1e-4, 1e4),
                    f"{where}.scene.objects.size_m")),
            },
            "ground": bool(scene.get("ground", False)),
            "placement_radius_m": _range(scene.get("placement_radius_m", 0.0),
                                         Param("float", None, None, 0, 1e4),
                                         f"{where}.scene.placement_radius_m")[1],
            "distractors": _check_query(scene.get("distractors", {"tags": ["distractor"]}),
                                        f"{where}.scene.distractors"),
            "occluders": _check_query(scene.get("occluders", {"tags": ["primitive"]}),
                                      f"{where}.scene.occluders"),
        }
        if norm_scene["objects"]["count"][1] < 1:
            raise RecipeError(f"{where}.scene.objects.count must allow at least one object")
        randomizers = _mapping(data.get("randomizers"), f"{where}.randomizers")
        norm_rand: dict[str, dict[str, Any]] = {}
        enabled: list[str] = []
        for rname in randomizers:
            if rname not in RANDOMIZERS:
                raise RecipeError(f"{where}.randomizers: unknown randomizer {rname!r}"
                                  f"{_close(rname, RANDOMIZERS)}; known: "
                                  f"{', '.join(RANDOMIZERS)}")
        for rname, params in RANDOMIZERS.items():
            if rname in OPTIONAL_RANDOMIZERS and rname not in randomizers:
                continue  # not part of the config: older recipes keep their hash
            block = randomizers.get(rname, False)
            if block is True or block is None:
                block = {}
            on = block is not False
            block = _mapping(block if on else {}, f"{where}.randomizers.{rname}")
            on = on and bool(block.pop("enabled", True))
            held = _mapping(block.pop("held", {}), f"{where}.randomizers.{rname}.held")
            _unknown_keys(block, set(params), f"{where}.randomizers.{rname}")
            _unknown_keys(held, set(params), f"{where}.randomizers.{rname}.held")
            norm: dict[str, Any] = {}
            for pname, param in params.items():
                at = f"{where}.randomizers.{rname}.{pname}"
                value = _check_param(pname, param, block.get(pname, param.default), at)
                hold = held.get(pname, param.held)
                if hold != "mid":
                    hold = _check_param(pname, param, hold, f"{at} (held)")
                    if param.kind in ("float", "int") and hold is not None:
                        hold = hold[0]
                norm[pname] = {"range": value, "held": hold}
            if rname == "background" and on and not norm["kinds"]["range"]:
                raise RecipeError(f"{where}.randomizers.background.kinds must list at least "
                                  "one kind")
            norm_rand[rname] = norm
            if on:
                enabled.append(rname)
        labels = _mapping(data.get("labels"), f"{where}.labels")
        _unknown_keys(labels, _LABEL_KEYS, f"{where}.labels")
        min_pixels = labels.get("min_pixels", 16)
        min_pixels = check_scalar(
            min_pixels, f"{where}.labels.min_pixels", min_val=1, error=RecipeError,
            message="{name} must be a positive whole number of pixels, got {value!r}")
        occluded_below = _number(labels.get("occluded_below", 0.99),
                                 f"{where}.labels.occluded_below")
        if not 0.0 < occluded_below <= 1.0:
            raise RecipeError(f"{where}.labels.occluded_below is a visible fraction in (0, 1], "
                              f"got {occluded_below:g}")
        output = _mapping(data.get("output"), f"{where}.output")
        _unknown_keys(output, _OUTPUT_KEYS, f"{where}.output")
        out_size = output.get("size")
        out_size = check_scalar(out_size, f"{where}.output.size", min_val=1, max_val=4096,
                                error=RecipeError, allow_none=True,
                                message="{name} must be a pixel count, got {value!r}")
        levels = check_scalar(output.get("levels"), f"{where}.output.levels", min_val=2,
                              max_val=256, error=RecipeError, allow_none=True,
                              message="{name} must be in 2..256, got {value!r}")
        out_config = {"size": out_size, "grayscale": bool(output.get("grayscale", False)),
                      "levels": levels, "invert": bool(output.get("invert", False))}
        if output.get("chain") is not None:
            # Only when set: recipes without a chain keep their config hash (and samples).
            check_chain(output["chain"], size=out_size, levels=levels, where=f"{where}.output",
                        error=RecipeError)
            out_config["chain"] = output["chain"]
        config = {
            "name": name,
            "size": [int(sizes[0]), int(sizes[1])],
            "scene": norm_scene,
            "randomizers": norm_rand,
            "labels": {"min_pixels": int(min_pixels), "occluded_below": occluded_below},
            "output": out_config,
            "description": str(data.get("description", "")),
        }
        # Round-trip through JSON so tuples and lists hash and compare the same way.
        config = json.loads(json.dumps(config))
        return cls(name=name, config=config, enabled=tuple(enabled))

    # -- derived ----------------------------------------------------------------------------
    @property
    def size(self) -> tuple[int, int]:
        """Render size as (height, width)."""
        h, w = self.config["size"]
        return int(h), int(w)

    def params(self, randomizer: str) -> dict[str, Any]:
        return self.config["randomizers"][randomizer]

    def is_enabled(self, randomizer: str) -> bool:
        return randomizer in self.enabled

    def ablate(self, *names: str) -> Recipe:
        """This recipe with the named randomizers held at their defaults."""
        for name in names:
            if name not in RANDOMIZERS:
                raise RecipeError(f"cannot ablate unknown randomizer {name!r}"
                                  f"{_close(name, RANDOMIZERS)}; known: {', '.join(RANDOMIZERS)}")
        return Recipe(self.name, self.config, tuple(r for r in self.enabled if r not in names),
                      tuple(sorted({*self.ablated, *names})))

    @property
    def config_hash(self) -> str:
        """Hash of everything that changes the pixels (not the sample count or seed)."""
        payload = {k: v for k, v in self.config.items() if k != "description"}
        return config_hash({"recipe": payload, "enabled": sorted(self.enabled),
                            "generator_version": GENERATOR_VERSION})

    def to_dict(self) -> dict[str, Any]:
        return copy.deepcopy({**self.config, "enabled": list(self.enabled)})


BUILTIN_RECIPES = ("digits3d", "objects")


def merge_overrides(base: Any, overrides: Mapping[str, Any]) -> Any:
    """``overrides`` merged into ``base``: nested mappings key by key, anything else replaced."""
    out = dict(base) if isinstance(base, Mapping) else {}
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge_overrides(out[key], value)
        else:
            out[key] = value
    return out


def load_recipe(spec: str | Path, overrides: Mapping[str, Any] | None = None) -> Recipe:
    """A built-in recipe by name (``digits3d``, ``objects``) or a YAML/JSON file.

    ``overrides`` is merged into the recipe (nested mappings key by key) before validation,
    e.g. ``{"size": 256}`` or ``{"randomizers": {"occluders": {"count": [1, 2]}}}``.
    """
    data, where = recipe_source(spec, overrides)
    return Recipe.from_dict(data, where=where)


def recipe_source(spec: str | Path, overrides: Mapping[str, Any] | None = None
                  ) -> tuple[dict[str, Any], str]:
    """The recipe mapping as written (before validation), with ``overrides`` merged in."""
    text: str
    where: str
    if str(spec) in BUILTIN_RECIPES:
        where = f"built-in recipe {spec}"
        text = resources.files("generators.recipes").joinpath(f"{spec}.yaml").read_text()
    else:
        path = Path(spec)
        where = str(path)
        if not path.is_file():
            raise RecipeError(f"recipe {str(spec)!r} is neither a built-in recipe "
                              f"({', '.join(BUILTIN_RECIPES)}) nor a file")
        text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RecipeError(f"{where}: not valid YAML/JSON: {exc}") from None
    if not isinstance(data, Mapping):
        raise RecipeError(f"{where} must be a mapping, got {type(data).__name__}")
    return (merge_overrides(data, overrides) if overrides else dict(data)), where
