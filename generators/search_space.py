"""A recipe's randomizer ranges as a search space: which ranges a tuner may move, within which
bounds, and the recipe (overrides, YAML) a set of tuned values makes.

No optimiser is imported here: :meth:`SearchSpace.suggest` asks any object with Optuna's
``suggest_float``/``suggest_categorical`` (duck-typed), so the generator stage stays a leaf.
"""

from __future__ import annotations

import difflib
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

from generators.errors import RecipeError
from generators.randomizers import RANDOMIZERS, Param
from generators.recipe import Recipe, load_recipe, merge_overrides, recipe_source

#: Significant digits of a tuned bound: the trial renders and the written recipe agree.
DIGITS = 4
#: Background kinds a tuner never switches on: ``workspace`` needs the workspace's images.
NOT_TUNED_OPTIONS = ("workspace",)


class Suggests(Protocol):
    """What :meth:`SearchSpace.suggest` needs of a trial (``optuna.trial.Trial`` has it)."""

    def suggest_float(self, name: str, low: float, high: float) -> float: ...

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any: ...


def round_sig(value: float, digits: int = DIGITS) -> float:
    """``value`` rounded to ``digits`` significant digits (0 stays 0)."""
    if value == 0 or not math.isfinite(value):
        return float(value)
    return round(float(value), digits - 1 - int(math.floor(math.log10(abs(value)))))


@dataclass(frozen=True)
class TunedParam:
    """One recipe parameter a tuner moves.

    A ``float``/``int`` range becomes two search dimensions, its centre (in ``bounds``) and
    its width (0 to the width of ``bounds``): both independent boxes, which TPE and CMA-ES
    both search. A ``prob`` is one number in [0, 1]; a ``choice`` one categorical over the
    non-empty subsets of its options.
    """

    randomizer: str
    name: str
    kind: str
    start: Any  # the recipe's value: (lo, hi), a probability, or the chosen options
    bounds: tuple[Any, ...]  # centre/prob box (lo, hi), or the options of a choice

    @property
    def key(self) -> str:
        return f"{self.randomizer}.{self.name}"

    def subsets(self) -> list[str]:
        items = [o for o in self.bounds if o not in NOT_TUNED_OPTIONS]
        return ["+".join(c) for n in range(1, len(items) + 1)
                for c in itertools.combinations(items, n)]

    def suggest(self, trial: Suggests) -> Any:
        """The value this trial gives the parameter (a range, probability or options)."""
        if self.kind == "choice":
            return tuple(trial.suggest_categorical(self.key, self.subsets()).split("+"))
        lo, hi = self.bounds
        if self.kind == "prob":
            return round_sig(trial.suggest_float(self.key, lo, hi))
        centre = trial.suggest_float(f"{self.key}.centre", lo, hi)
        width = trial.suggest_float(f"{self.key}.width", 0.0, hi - lo)
        return self.to_range(centre, width)

    def to_range(self, centre: float, width: float) -> tuple[float, float]:
        """``centre +- width / 2`` clipped to the bounds (whole numbers for counts)."""
        lo, hi = self.bounds
        a, b = max(lo, centre - width / 2), min(hi, centre + width / 2)
        if self.kind == "int":
            a, b = int(round(a)), int(round(b))
            return a, max(a, b)
        return round_sig(a), round_sig(max(a, b))

    def start_params(self) -> dict[str, Any]:
        """The search values that give back the recipe's own value (trial 0)."""
        if self.kind == "choice":
            return {self.key: "+".join(self.start)}
        if self.kind == "prob":
            return {self.key: float(self.start)}
        lo, hi = self.start
        return {f"{self.key}.centre": (lo + hi) / 2, f"{self.key}.width": float(hi - lo)}


def _span(param: Param, lo: float, hi: float) -> float:
    """How far a range may move: its own width, else the default range's width, else 1."""
    if hi > lo:
        return float(hi - lo)
    if isinstance(param.default, tuple) and param.default[1] > param.default[0]:
        return float(param.default[1] - param.default[0])
    return max(abs(lo) * 0.5, 1.0)


def _tuned(recipe: Recipe, randomizer: str, name: str, widen: float) -> TunedParam:
    param = RANDOMIZERS[randomizer][name]
    value = recipe.params(randomizer)[name]["range"]
    if param.kind == "choice":
        return TunedParam(randomizer, name, "choice", tuple(value), param.options)
    if param.kind == "prob":
        return TunedParam(randomizer, name, "prob", float(value), (0.0, 1.0))
    if value is None:  # e.g. materials.hue: the asset's own range; search the whole interval
        lo, hi = float(param.lo), float(param.hi)
        return TunedParam(randomizer, name, param.kind, (lo, hi), (lo, hi))
    lo, hi = float(value[0]), float(value[1])
    span = widen * _span(param, lo, hi)
    box = (max(float(param.lo), lo - span), min(float(param.hi), hi + span))
    return TunedParam(randomizer, name, param.kind, (value[0], value[1]), box)


def _default_keys(recipe: Recipe) -> list[tuple[str, str]]:
    """Every numeric range of an enabled randomizer that the recipe lets vary (lo < hi)."""
    out = []
    for rname in recipe.enabled:
        for pname, param in RANDOMIZERS[rname].items():
            value = recipe.params(rname)[pname]["range"]
            if param.kind in ("float", "int") and value is not None and value[1] > value[0]:
                out.append((rname, pname))
    return out


def _named_keys(recipe: Recipe, names: Sequence[str]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    defaults = _default_keys(recipe)
    for text in names:
        rname, _, pname = text.strip().partition(".")
        if rname not in RANDOMIZERS:
            match = difflib.get_close_matches(rname, list(RANDOMIZERS), n=1)
            hint = f" (did you mean {match[0]!r}?)" if match else ""
            raise RecipeError(f"--params: unknown randomizer {rname!r}{hint}; known: "
                              f"{', '.join(RANDOMIZERS)}")
        if not recipe.is_enabled(rname):
            raise RecipeError(f"--params: randomizer {rname!r} is off in recipe "
                              f"{recipe.name!r}; switch it on in the recipe to tune it")
        if not pname:  # a whole randomizer: its numeric ranges
            out += [k for k in defaults if k[0] == rname and k not in out]
            continue
        if pname not in RANDOMIZERS[rname]:
            match = difflib.get_close_matches(pname, list(RANDOMIZERS[rname]), n=1)
            hint = f" (did you mean {match[0]!r}?)" if match else ""
            raise RecipeError(f"--params: {rname} has no parameter {pname!r}{hint}; it has "
                              f"{', '.join(RANDOMIZERS[rname])}")
        if (rname, pname) not in out:
            out.append((rname, pname))
    return out


@dataclass(frozen=True)
class SearchSpace:
    """The tuned parameters of one recipe; build it with :func:`search_space`."""

    recipe: Recipe
    params: tuple[TunedParam, ...]

    def suggest(self, trial: Suggests) -> dict[str, Any]:
        """``{"randomizer.param": value}`` for every tuned parameter, asked of ``trial``."""
        return {p.key: p.suggest(trial) for p in self.params}

    def start_params(self) -> dict[str, Any]:
        """The search values of the recipe itself (enqueue them as the first trial)."""
        return {k: v for p in self.params for k, v in p.start_params().items()}

    def start_values(self) -> dict[str, Any]:
        """The recipe's own value of every tuned parameter, as :meth:`suggest` gives them."""
        return {p.key: p.start for p in self.params}

    def overrides(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Recipe overrides for the values that differ from the recipe's own: unchanged
        parameters stay as written, so unchanged values give back the same config hash."""
        out: dict[str, dict[str, Any]] = {}
        for p in self.params:
            value = values[p.key]
            same = (tuple(value) == tuple(p.start) if p.kind == "choice" else
                    math.isclose(float(value), float(p.start)) if p.kind == "prob" else
                    all(math.isclose(float(a), float(b)) for a, b in zip(value, p.start,
                                                                         strict=True)))
            if not same:
                out.setdefault(p.randomizer, {})[p.name] = (
                    list(value) if isinstance(value, tuple) else value)
        return {"randomizers": out} if out else {}

    def to_frame_row(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Values flattened to columns (``lighting.intensity.lo``, ``.hi``)."""
        row: dict[str, Any] = {}
        for p in self.params:
            value = values[p.key]
            if p.kind in ("float", "int"):
                row[f"{p.key}.lo"], row[f"{p.key}.hi"] = value
            else:
                row[p.key] = "+".join(value) if p.kind == "choice" else value
        return row

    def config(self) -> dict[str, Any]:
        """What the space is, for the study's config hash."""
        return {"recipe": self.recipe.config_hash,
                "params": [[p.key, p.kind, list(p.bounds)] for p in self.params]}


def search_space(recipe: Recipe, params: Sequence[str] | None = None, *,
                 widen: float = 1.0) -> SearchSpace:
    """The search space of ``recipe``.

    ``params`` names what is tuned: ``randomizer.param`` (any kind, e.g.
    ``background.kinds``) or a whole ``randomizer`` (its numeric ranges). Default: every
    numeric range of an enabled randomizer that is not a fixed value. A range may move
    ``widen`` times its width beyond either end, within the parameter's hard bounds.
    """
    if not (isinstance(widen, (int, float)) and widen >= 0 and math.isfinite(widen)):
        raise RecipeError(f"widen must be a non-negative number, got {widen!r}")
    keys = _named_keys(recipe, params) if params else _default_keys(recipe)
    if not keys:
        raise RecipeError(f"recipe {recipe.name!r} has nothing to tune"
                          + (f" in {', '.join(params)}" if params else "")
                          + ": name ranges with --params, e.g. lighting.intensity")
    return SearchSpace(recipe, tuple(_tuned(recipe, r, p, widen) for r, p in keys))


def tuned_recipe_data(spec: str | Path, overrides: Mapping[str, Any],
                      description: str | None = None) -> dict[str, Any]:
    """The recipe mapping as written, with tuned ``overrides`` merged in."""
    data, _ = recipe_source(spec)
    data = merge_overrides(data, overrides) if overrides else data
    if description is not None:
        data["description"] = description
    return data


def recipe_yaml(data: Mapping[str, Any], header: str = "") -> str:
    """A recipe mapping as YAML that :func:`generators.recipe.load_recipe` reads back."""
    lines = "".join(f"# {line}\n" for line in header.splitlines())
    return lines + yaml.safe_dump(dict(data), sort_keys=False, default_flow_style=None)


def tuned_recipe(spec: str | Path, overrides: Mapping[str, Any]) -> Recipe:
    """The recipe a trial renders: ``spec`` with its tuned ``overrides``."""
    return load_recipe(spec, overrides or None)
