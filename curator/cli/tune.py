"""``curator tune``: search a recipe's randomizer ranges for renders closest to the real data."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from curator.cli.common import WorkspaceOpt, console, errors_as_messages, progress_bar
from curator.query import parse_where
from curator.store import open_workspace

DEFAULT_TO = "source == 'real' and split == 'train'"


def parse_to(texts: list[str] | None) -> tuple[tuple[str, str, object], ...]:
    """``--to`` conditions (repeatable, or joined with `` and ``) as filter tuples."""
    parts = [p for text in (texts or [DEFAULT_TO]) for p in re.split(r"\s+and\s+", text)]
    return tuple(parse_where(p) for p in parts if p.strip())


def tune(
    recipe: Annotated[str, typer.Argument(help="Built-in recipe (digits3d, objects) or a "
                                          "YAML/JSON recipe file: where the search starts.")],
    workspace: WorkspaceOpt = Path("."),
    to: Annotated[list[str] | None, typer.Option(
        "--to", help="The real samples to match, as --where conditions (repeatable, or "
        f"joined with 'and'). Default: \"{DEFAULT_TO}\". A selection with test/val rows or "
        "non-real rows is refused.")] = None,
    embedding: Annotated[str, typer.Option(
        "--embedding", "-e", help="Workspace embedding the gap is measured in; its fitted "
        "embedder transforms the renders, so both sides share one basis.")] = "pixels",
    trials: Annotated[int, typer.Option("--trials", min=1, help="Finished trials the study "
                                        "should have (a re-run continues to this many).")] = 20,
    budget_seconds: Annotated[float | None, typer.Option(
        "--budget-seconds", min=0, help="Start no new trial after this many seconds.")] = None,
    n_per_trial: Annotated[int, typer.Option("--n-per-trial", min=4,
                                             help="Samples each trial renders.")] = 200,
    params: Annotated[str | None, typer.Option(
        "--params", help="Comma-separated ranges to tune: randomizer.param (any kind, e.g. "
        "background.kinds, materials.texture_prob) or a whole randomizer (its numeric "
        "ranges), e.g. 'lighting.intensity,camera'. Default: every numeric range of an "
        "enabled randomizer that is not a fixed value.")] = None,
    widen: Annotated[float, typer.Option(
        "--widen", min=0, help="How far a range may move beyond either end, in its own "
        "widths (within the parameter's hard bounds).")] = 1.0,
    sampler: Annotated[str, typer.Option("--sampler", help="tpe (Optuna's TPE) or cmaes "
                                         "(CMA-ES).")] = "tpe",
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seeds the sampler and every "
                                      "trial's renders: same seed, same study.")] = 0,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Also write the tuned recipe here (it is always written to the study "
        "folder).")] = None,
    workers: Annotated[int | None, typer.Option(
        "--workers", min=1, help="Render processes (default: all cores).")] = None,
) -> None:
    """Tune a recipe's randomizer ranges so its renders come closest to real samples.

    Each trial (Optuna; TPE by default) picks ranges, renders --n-per-trial samples with
    them into a scratch area that is then removed (trial renders never join the
    workspace's samples), embeds them with the --embedding's fitted embedder and scores
    the gap to the real samples --to selects. Trial 0 is the recipe as given.

    The objective (lower is closer), per label both sides have, averaged over labels:
    (2 AUC - 1) + r / (1 + r), where AUC is the classifier two-sample test's (0.5: cannot
    be told apart) and r the KID relative to the real set's kernel mean. The AUC term
    saturates at 1 while renders are far off; the KID term keeps ordering trials there.

    The study lives in WS/tune/RECIPE-HASH/ (an append-only Optuna journal, summary.json,
    the tuned recipe, result.json). Re-running the same command resumes it, also after
    kill -9, and gives the same trials as an uninterrupted run. At the end the recipe as
    given and the best ranges are re-rendered on a fresh seed and compared (C2ST AUC and
    KID with intervals), with each knob's importance (fANOVA).

    Example: curator tune digits3d -e pixels --trials 30 --params lighting,camera
    --out digits3d-tuned.yaml -w WS; then curator generate digits3d-tuned.yaml -w WS.
    """
    with errors_as_messages():
        from curator.workflows.tune import TuneConfig, tune_recipe

        names = tuple(p.strip() for p in params.split(",") if p.strip()) if params else None
        config = TuneConfig(recipe=recipe, embedding=embedding, to=parse_to(to), params=names,
                            n_per_trial=n_per_trial, seed=seed, sampler=sampler, widen=widen)
        ws = open_workspace(workspace)
        with progress_bar(f"tune {Path(recipe).stem}") as progress:
            result = tune_recipe(ws, config, trials=trials, budget_seconds=budget_seconds,
                                 workers=workers, out=out, progress=progress)
        console.print(str(result), highlight=False)


def register(app: typer.Typer) -> None:
    app.command("tune")(tune)
