"""``curator demo``: builds the demo workspace end to end (real digits, synthetic digits and
their ablation series, object scenes, augmentation, then every analysis step's demo).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from curator.cli.common import console, errors_as_messages, progress_bar
from curator.cli.experiment import demo_experiments, demo_synthetic_helps
from curator.cli.generate import print_generate_summary, write_preview
from curator.cli.ingest import print_ingest_summary
from curator.cli.manifest import demo_export
from curator.cli.oversample import demo_oversample
from curator.cli.report import demo_report
from curator.cli.select import demo_analysis
from curator.cli.workspace import print_info
from curator.ingest import ingest, read_digits
from curator.store import init_workspace

DEMO_SYNTHETIC_DIGITS = 1800
DEMO_ABLATION_DIGITS = 200
DEMO_OBJECTS = 96


def demo(workspace: Annotated[Path, typer.Option(
        "--workspace", "-w", help="Where to build the demo workspace.")] = Path(
        "data/demo-workspace"),
         small: Annotated[bool, typer.Option(
             "--small", help="A tenth of the synthetic samples (a quick look).")] = False,
         ) -> None:
    """Build the demo workspace: real digits, synthetic 3D digits with an ablation series,
    and labelled multi-object scenes. Re-running resumes (nothing is rendered twice)."""
    scale = 10 if small else 1
    with errors_as_messages():
        from generators.recipe import load_recipe
        from generators.run import generate as run_generate

        ws = init_workspace(workspace, exist_ok=True)
        console.rule("[bold]1. real data: scikit-learn digits")
        with progress_bar("ingest digits") as progress:
            summary = ingest(ws, read_digits(), progress=progress)
        print_ingest_summary(summary)

        console.rule("[bold]2. synthetic data: 3D digits rendered to the same 8x8 format")
        digits = load_recipe("digits3d")
        with progress_bar("generate digits3d") as progress:
            print_generate_summary(run_generate(ws, digits, DEMO_SYNTHETIC_DIGITS // scale,
                                                seed=0, progress=progress))
        console.rule("[bold]3. ablation series: each randomizer held at its default in turn")
        for name in digits.enabled:
            with progress_bar(f"generate digits3d --ablate {name}") as progress:
                print_generate_summary(run_generate(
                    ws, digits.ablate(name), DEMO_ABLATION_DIGITS // scale, seed=0,
                    progress=progress))
        console.rule("[bold]4. labelled scenes: objects, distractors, occluders (128 px)")
        with progress_bar("generate objects") as progress:
            print_generate_summary(run_generate(ws, load_recipe("objects"),
                                                DEMO_OBJECTS // scale, seed=0,
                                                progress=progress))
        console.rule("[bold]5. augmentation: x4 label-consistent affine variants of the scenes")
        from curator.workflows.augment import augment as run_augment

        with progress_bar("augment") as progress:
            console.print(str(run_augment(ws, 4, seed=0, where="gen_recipe == 'objects'",
                                          progress=progress)), highlight=False)
        previews = ws.root / "previews"
        for name, recipe in (("digits3d", digits), ("objects", load_recipe("objects"))):
            write_preview(recipe, 6, 0, previews / f"{name}.png")
        console.print(f"contact sheets (image, instance, class, matte, depth, normals): "
                      f"{previews}/digits3d.png, {previews}/objects.png", highlight=False)
        demo_analysis(ws)
        demo_experiments(ws)
        demo_synthetic_helps(ws, small=small)
        demo_report(ws)
        demo_oversample(ws)
        demo_export(ws)
        console.rule("[bold]workspace")
        print_info(ws)
        console.print(
            "\nresults: samples are Parquet shards in "
            f"{ws.samples.directory}\n"
            "inspect:  curator show -w " f"{ws.root} --where \"source == 'synthetic'\"\n"
            "python:   import curator; curator.open_workspace("
            f"'{ws.root}').to_pandas(columns=['sample_id', 'source', 'label', "
            "'light_azimuth_deg', 'gen_ablated'])\n"
            f"select:   curator subsets list -w {ws.root}; curator select --help\n"
            f"report:   {ws.root / 'reports' / 'report.html'}; curator report --help\n"
            "experiments: curator experiment ratio --help; curator experiment ablation "
            "--help\n"
            f"app:      curator app {ws.root}   (then open http://127.0.0.1:8501)\n"
            f"export:   {ws.root / 'exports'}; curator export --help; curator manifest "
            "diff --help\n"
            "oversample: curator oversample --help (rows with parents: source == "
            "'oversampled', or oversample_kind on rendered ones)",
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    app.command()(demo)
