"""Filling a report's generation requests: read the requests file, narrow a recipe to each
request and render it into the workspace, one seeded run per request (resumable).

The command line (``curator fill``) only parses arguments and prints what this yields.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from curator.errors import CuratorError
from curator.requests import GenerationRequest, parse_requests
from curator.store import Workspace
from generators.recipe import Recipe
from generators.requests import request_recipe
from generators.run import GenerateSummary, Progress
from generators.run import generate as run_generate


@dataclass(frozen=True)
class FillStep:
    """One request of a requests file as a run: the narrowed recipe and how many samples.

    ``index`` is the request's position in the file (its run seed is ``seed + index``, so
    two requests that narrow a recipe alike both render); ``skipped`` names the request's
    attributes that are not generator knobs (left free).
    """

    index: int
    request: GenerationRequest
    recipe: Recipe
    n: int
    skipped: tuple[str, ...] = ()


def read_requests(path: str | Path) -> list[GenerationRequest]:
    """The generation requests in ``path`` (``report.requests.json`` or written by hand)."""
    path = Path(path)
    if not path.is_file():
        raise CuratorError(f"requests file {path} does not exist")
    return parse_requests(path.read_text(encoding="utf-8"), str(path))


def fill_steps(requests: Sequence[GenerationRequest], recipe: str | None = None,
               scale: float = 1.0) -> Iterator[FillStep]:
    """Each request as a :class:`FillStep`, lazily (a bad request fails when reached).

    ``recipe`` serves requests that name none (or overrides theirs); ``scale`` multiplies
    every request's count (at least one sample each).
    """
    for i, item in enumerate(requests):
        spec, skipped = request_recipe(item, recipe)
        yield FillStep(i, item, spec, max(1, math.ceil(item.n * scale)), tuple(skipped))


def render_step(ws: Workspace, step: FillStep, *, seed: int = 0, workers: int | None = None,
                progress: Progress | None = None) -> GenerateSummary:
    """Render one step into ``ws`` with run seed ``seed + step.index`` (skips what is there)."""
    return run_generate(ws, step.recipe, step.n, seed=seed + step.index, workers=workers,
                        progress=progress)


def fill(ws: Workspace, requests: str | Path | Iterable[GenerationRequest], *,
         recipe: str | None = None, seed: int = 0, scale: float = 1.0,
         workers: int | None = None) -> list[GenerateSummary]:
    """Render every request of ``requests`` (a file or parsed requests) into ``ws``."""
    items = (read_requests(requests) if isinstance(requests, (str, Path))
             else list(requests))
    return [render_step(ws, step, seed=seed, workers=workers)
            for step in fill_steps(items, recipe, scale)]
