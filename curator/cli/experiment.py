"""``curator experiment ratio|ablation``: which real:synthetic ratio and which randomizations
train best, scored on real held-out data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from curator.cli.common import WorkspaceOpt, console, errors_as_messages, progress_bar
from curator.errors import CuratorError
from curator.query import parse_wheres
from curator.store import open_workspace
from curator.validation import check_scalar

experiment_app = typer.Typer(
    help="Experiments scored on real held-out data: the real:synthetic ratio sweep and "
    "randomizer ablations. Completed runs are cached in WS/experiments (re-run to resume); "
    "`curator report` shows them.", no_args_is_help=True)

EmbeddingOpt = Annotated[str, typer.Option("--embedding", "-e",
                                           help="Embedding the proxy model trains on.")]
ModelOpt = Annotated[str, typer.Option("--model", help="Proxy model: logistic (logistic "
                                       "regression), mlp (one hidden layer) or hgb "
                                       "(histogram gradient boosting).")]
SeedsOpt = Annotated[int, typer.Option("--seeds", min=1, help="Runs per point (each draws "
                                       "its own mix and model seed).")]
HeldoutOpt = Annotated[str, typer.Option(
    "--heldout-split", help="Real samples of this split are the held-out set (else a "
    "stratified quarter of the real samples is held out).")]
SeedOpt = Annotated[int, typer.Option("--seed", min=0, help="random_state: seeds are SEED, "
                                      "SEED+1, ...")]


def _numbers(text: str | None, what: str, kind: type = float) -> list[Any]:
    if text is None or not text.strip():
        return []
    try:
        return [kind(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise CuratorError(f"{what} must be comma-separated numbers, got {text!r}") from None


def _show(table: pd.DataFrame, columns: list[str], title: str) -> None:
    shown = table[[c for c in columns if c in table]].copy()
    for c in shown.columns:
        if pd.api.types.is_float_dtype(shown[c]):
            shown[c] = shown[c].map(lambda v: "" if pd.isna(v) else f"{v:.3f}")
        elif not pd.api.types.is_numeric_dtype(shown[c]):  # chosen weights: weighted only
            shown[c] = shown[c].astype(object).where(shown[c].notna(), "")
    console.print(f"[bold]{title}[/bold]")
    console.print(shown.to_string(index=False), highlight=False, markup=False)


def _print_ratio(summary) -> None:
    result = summary.result
    _show(result.tables["points"], ["regime", "budget", "point", "n_real", "n_synthetic",
                                    "accuracy", "accuracy_lo", "accuracy_hi",
                                    "synthetic_weights"],
          "real held-out accuracy per mix (mean and 95% interval over seeds)")
    console.print("[bold]recommended mix per real budget[/bold]")
    for f in result.findings:
        console.print(f"  {f.message}", highlight=False, markup=False)
    _footer(summary)


def _footer(summary) -> None:
    for note in summary.result.notes:
        console.print(f"note: {note}", highlight=False, markup=False)
    console.print(f"{summary.new_runs} run(s) trained, {summary.cached_runs} from cache; "
                  f"saved in {summary.directory}", highlight=False)


def _print_ablation(summary) -> None:
    result = summary.result
    _show(result.tables["ablation"], ["arm", "n_real", "n_synthetic", "accuracy",
                                      "against", "change", "change_lo", "change_hi"],
          "ablation: real held-out accuracy per arm and its change (95% interval)")
    console.print(f"randomizations that matter: {result.summary['matters']}", highlight=False)
    for f in result.findings:
        console.print(f"  {f.message}", highlight=False, markup=False)
    _footer(summary)


@experiment_app.command("ratio")
def ratio(
    workspace: WorkspaceOpt = Path("."),
    embedding: EmbeddingOpt = "pixels",
    real_fractions: Annotated[str, typer.Option(
        "--real-fractions", help="Shares of real samples in a mix the size of the real "
        "budget: 1 is real only, 0 synthetic only.")] = "0,0.1,0.25,0.5,1",
    synthetic_per_real: Annotated[str | None, typer.Option(
        "--synthetic-per-real", help="Also: synthetic samples added per real sample (the "
        "whole real budget kept), e.g. '1,2,4'.")] = None,
    real_counts: Annotated[str | None, typer.Option(
        "--real-counts", help="Real budgets to sweep, e.g. '50,100,200', spread evenly over "
        "the labels (default: every real training sample).")] = None,
    regime: Annotated[str, typer.Option(
        "--regime", help="Comma-separated: mixed (train on the mix), pretrain (synthetic "
        "first, then fine-tune on the real part; logistic and mlp), weighted (train on the "
        "mix, each synthetic row weighing w < 1, w chosen per run among "
        "--synthetic-weights by cross-validation on the run's real rows, never the "
        "held-out split), e.g. 'mixed,pretrain,weighted'.")] = "mixed",
    synthetic_weights: Annotated[str, typer.Option(
        "--synthetic-weights", help="Candidate weights of a synthetic row in the weighted "
        "regime (a real row weighs 1), each in (0, 1].")] = "1,0.5,0.2,0.1,0.05,0.02",
    model: ModelOpt = "logistic",
    seeds: SeedsOpt = 3,
    synthetic: Annotated[list[str] | None, typer.Option(
        "--synthetic-where", help="Restrict the synthetic candidates, e.g. \"gen_recipe == "
        "'digits3d'\" (repeatable; default: full-recipe renders).")] = None,
    by: Annotated[str | None, typer.Option(
        "--by", help="Held-out strata for the per-stratum recommendation, e.g. "
        "'label,pose_yaw_deg:3' (default: label).")] = None,
    heldout: HeldoutOpt = "test",
    seed: SeedOpt = 0,
) -> None:
    """Real:synthetic ratio sweep: train a proxy on each mix, score on real held-out data.

    The held-out split never sees synthetic, augmented or oversampled data, and no training
    mix holds a near-duplicate of a held-out sample or anything derived from one. Each
    point runs --seeds times; the table shows the mean with a 95% t-interval, and the
    recommendation per budget and per held-out stratum comes with the paired difference to
    real-only training. In the weighted regime the table also shows the synthetic weight
    each seed chose.

    Example: curator experiment ratio -w WS --real-counts 50,100,200
    --synthetic-per-real 1,4 --regime mixed,pretrain,weighted
    """
    with errors_as_messages():
        from curator.workflows.experiments import ratio_experiment

        budgets = _numbers(real_counts, "--real-counts", int) or [None]
        for b in budgets:
            check_scalar(b, "--real-counts", min_val=1, allow_none=True,
                         message="--real-counts must be positive")
        regimes = [r.strip() for r in regime.split(",") if r.strip()]
        ws = open_workspace(workspace)
        with progress_bar("ratio sweep runs") as progress:
            summary = ratio_experiment(
                ws, embedding, real_counts=budgets,
                real_fractions=_numbers(real_fractions, "--real-fractions"),
                synthetic_per_real=_numbers(synthetic_per_real, "--synthetic-per-real"),
                regimes=regimes, model=model, seeds=seeds, synthetic=parse_wheres(synthetic),
                by=by, heldout=heldout, random_state=seed,
                synthetic_weights=_numbers(synthetic_weights, "--synthetic-weights"),
                progress=progress)
        _print_ratio(summary)


@experiment_app.command("ablation")
def ablation(
    recipe: Annotated[str, typer.Argument(help="Recipe whose randomizers are ablated "
                                          "(its name or YAML file).")],
    workspace: WorkspaceOpt = Path("."),
    embedding: EmbeddingOpt = "pixels",
    real_count: Annotated[int, typer.Option(
        "--real-count", min=1, help="Real training samples in every arm.")] = 100,
    synthetic_per_real: Annotated[float, typer.Option(
        "--synthetic-per-real", min=0, help="Synthetic samples per real sample in every "
        "arm (capped by the smallest variant).")] = 1.0,
    generate: Annotated[int, typer.Option(
        "--generate", min=0, help="Render this many samples for each variant the workspace "
        "lacks (0: use only what is there).")] = 0,
    augment: Annotated[int, typer.Option(
        "--augment", min=0, help="Also an arm with xN affine copies of the real draw "
        "(made when missing).")] = 0,
    no_flip: Annotated[bool, typer.Option(
        "--no-flip", help="Augment without horizontal flips (digits, text: a mirrored "
        "sample is another class or none).")] = False,
    model: ModelOpt = "logistic",
    seeds: SeedsOpt = 3,
    heldout: HeldoutOpt = "test",
    seed: SeedOpt = 0,
) -> None:
    """Which randomizations matter, scored on real held-out data.

    The recipe's full output is compared with each variant that holds one randomizer at its
    default (same sizes, same real draw). A randomizer whose removal lowers the held-out
    score matters. With --augment N the real draw with its xN affine copies is compared with
    the real draw alone.

    Example: curator experiment ablation digits3d -w WS --real-count 100 --augment 2
    """
    with errors_as_messages():
        from curator.workflows.experiments import ablation_experiment

        ws = open_workspace(workspace)
        with progress_bar("ablation runs") as progress:
            summary = ablation_experiment(
                ws, recipe, embedding, real_count=real_count,
                synthetic_per_real=synthetic_per_real, generate=generate, augment=augment,
                augment_ranges={"flip_h": 0.0} if no_flip else None, model=model,
                seeds=seeds, heldout=heldout, random_state=seed, progress=progress)
        _print_ablation(summary)


def register(app: typer.Typer) -> None:
    app.add_typer(experiment_app, name="experiment")


def demo_experiments(ws) -> None:
    """The demo's experiment step: the digits ratio sweep and the digits3d ablation."""
    from curator.workflows.experiments import ablation_experiment, ratio_experiment

    console.rule("[bold]8. experiments: which real:synthetic ratio, which randomizations "
                 "(real held-out digits)")
    with progress_bar("ratio sweep runs") as progress:
        _print_ratio(ratio_experiment(
            ws, "pixels", real_counts=[50, 100, 200], real_fractions=[0, 0.25, 0.5, 1],
            synthetic_per_real=[1, 4], regimes=["mixed", "pretrain"], seeds=3,
            synthetic=[("gen_recipe", "==", "digits3d")], progress=progress))
    with progress_bar("ablation runs") as progress:
        _print_ablation(ablation_experiment(ws, "digits3d", "pixels", real_count=100,
                                            augment=2, augment_ranges={"flip_h": 0.0},
                                            seeds=3, progress=progress))


#: The demo's shaped digits: digits3d through the sklearn-digits chain, with the glyph knobs
#: and the camera range measured in docs/generators.md ("Glyph shape").
DEMO_SHAPED_DIGITS = {
    "name": "digits3d_shaped",
    "output": {"chain": "sklearn_digits"},
    "randomizers": {"glyph": {"stroke": [-0.035, -0.015], "slant_deg": [-15, 15],
                              "aspect": [0.6, 0.85], "elastic": [0.0, 0.02]},
                    "camera": {"distance_m": [2.8, 3.6]}},
}
DEMO_TUNE_TRIALS, DEMO_TUNE_SECONDS, DEMO_TUNED_DIGITS = 12, 120.0, 1800
DEMO_BUDGETS = [25, 50, 100, 200]


def demo_synthetic_helps(ws, *, small: bool = False) -> None:
    """The demo's "does synthetic help?" step: shape digits3d like the real digits, tune it
    against the real train digits, render it, and sweep default and tuned renders alike
    (``small``: 2 trials, a tenth of the renders, budgets 25 and 50, 2 seeds)."""
    import yaml

    from curator.cli.generate import print_generate_summary
    from curator.embed import PixelEmbedder, embed_workspace
    from curator.experiments import compare_synthetic_sets
    from curator.workflows.experiments import ratio_experiment, saved_experiments
    from curator.workflows.tune import TuneConfig, tune_recipe
    from generators.recipe import load_recipe, recipe_source
    from generators.run import generate as run_generate

    console.rule("[bold]9. does synthetic help? digits3d shaped and tuned against the real "
                 "train digits, scored on real held-out digits")
    recipes = ws.root / "recipes"
    recipes.mkdir(exist_ok=True)
    shaped, _ = recipe_source("digits3d", DEMO_SHAPED_DIGITS)
    shaped_file = recipes / "digits3d_shaped.yaml"
    shaped_file.write_text(yaml.safe_dump(shaped, sort_keys=False))
    with progress_bar("tune digits3d_shaped") as progress:
        tuned = tune_recipe(ws, TuneConfig(str(shaped_file), embedding="pixels"),
                            trials=2 if small else DEMO_TUNE_TRIALS,
                            budget_seconds=DEMO_TUNE_SECONDS, progress=progress)
    console.print(str(tuned), highlight=False, markup=False)
    # Its own name, so its renders are a synthetic set of their own (gen_recipe).
    tuned_data = yaml.safe_load(Path(tuned.tuned_recipe).read_text())
    tuned_file = recipes / "digits3d_tuned.yaml"
    tuned_file.write_text(yaml.safe_dump({**tuned_data, "name": "digits3d_tuned"},
                                         sort_keys=False))
    with progress_bar("generate digits3d_tuned") as progress:
        print_generate_summary(run_generate(ws, load_recipe(tuned_file),
                                            DEMO_TUNED_DIGITS // (10 if small else 1),
                                            seed=0, progress=progress))
    embed_workspace(ws, PixelEmbedder(size=8, n_components=32), name="pixels")
    for recipe in ("digits3d", "digits3d_tuned"):
        with progress_bar(f"ratio sweep runs ({recipe})") as progress:
            _print_ratio(ratio_experiment(
                ws, "pixels", real_counts=DEMO_BUDGETS[:2] if small else DEMO_BUDGETS,
                real_fractions=[1], synthetic_per_real=[1, 4],
                regimes=["mixed", "pretrain", "weighted"], seeds=2 if small else 5,
                synthetic=[("gen_recipe", "==", recipe)], progress=progress))
    verdicts = compare_synthetic_sets(saved_experiments(ws.root / "experiments"))
    if verdicts is not None:
        console.print("[bold]does synthetic help? best mix per budget against real only[/bold]")
        for f in verdicts.findings:
            console.print(f"  {f.message}", highlight=False, markup=False)
