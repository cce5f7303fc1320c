"""The ``curator`` command line: a thin shell over the core (init, ingest, info, show, demo).

Every command has ``--help``; errors from the core print as one clear line and exit 2.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import typer
from rich.table import Table

from curator.cli_app import register as register_app_command
from curator.cli_common import WorkspaceOpt, _errors_as_messages, _progress, console, err_console
from curator.cli_experiment import demo_experiments
from curator.cli_experiment import register as register_experiment_command
from curator.cli_manifest import demo_export
from curator.cli_manifest import register as register_manifest_command
from curator.cli_oversample import demo_oversample
from curator.cli_oversample import register as register_oversample_command
from curator.cli_report import demo_report
from curator.cli_report import register as register_report_command
from curator.cli_select import demo_analysis
from curator.cli_select import register as register_analysis_commands
from curator.errors import CuratorError
from curator.ingest import (
    IngestSummary,
    Source,
    ingest,
    read_coco,
    read_digits,
    read_folder,
    read_masks,
    read_table,
)
from curator.store import Workspace, init_workspace, open_workspace
from curator.version import __version__

app = typer.Typer(
    name="curator",
    help="Curate ML training data that mixes real and synthetic samples.\n\n"
         "Start with `curator init WS`, then `curator ingest ... -w WS`, then `curator info WS`.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
ingest_app = typer.Typer(
    help="Ingest real samples (image folders, COCO, tables, masks, built-in digits).",
    no_args_is_help=True,
)
app.add_typer(ingest_app, name="ingest")

SplitOpt = Annotated[
    str | None,
    typer.Option("--split", help="Split for rows without one: a name ('train') or fractions "
                                 "by content hash ('train=0.8,test=0.2')."),
]
BatchOpt = Annotated[int, typer.Option("--batch-rows", min=1,
                                        help="Rows per shard (one atomic write each).")]


def _version(value: bool) -> None:
    if value:
        console.print(f"curator {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """curator: see what your data covers, where it is biased, and how far synthetic is from
    real."""


def _print_summary(summary: IngestSummary) -> None:
    console.print(str(summary), highlight=False)
    if summary.rejects:
        table = Table("item", "reason", "message", title="rejected (first 10)", show_lines=False)
        for r in summary.rejects[:10]:
            table.add_row(r.item, r.reason, r.message)
        console.print(table)
        console.print(f"all rejects: curator rejects -w {summary.workspace}", highlight=False)


def _run_ingest(workspace: Path, make_source: Callable[[], Source], split: str | None,
                batch_rows: int) -> None:
    with _errors_as_messages():
        ws = open_workspace(workspace)
        source = make_source()
        with _progress(f"ingest {source.fmt}") as progress:
            summary = ingest(ws, source, split=split, batch_rows=batch_rows, progress=progress)
        _print_summary(summary)


@app.command()
def init(path: Annotated[Path, typer.Argument(help="Directory to create (empty or new).")]
         ) -> None:
    """Create an empty workspace: sharded Parquet tables under PATH."""
    with _errors_as_messages():
        ws = init_workspace(path)
    console.print(f"created workspace {ws.root}", highlight=False)


@ingest_app.command("folder")
def ingest_folder(
    source: Annotated[Path, typer.Argument(help="Folder with one subfolder per class.")],
    workspace: WorkspaceOpt = Path("."),
    split: SplitOpt = None,
    batch_rows: BatchOpt = 2048,
) -> None:
    """Ingest an image folder: SOURCE/<label>/**/<image>. Non-images are rejected."""
    _run_ingest(workspace, lambda: read_folder(source), split, batch_rows)


@ingest_app.command("coco")
def ingest_coco(
    annotations: Annotated[Path, typer.Argument(help="COCO instances JSON file.")],
    images: Annotated[Path | None, typer.Option(
        "--images", help="Image folder (default: the JSON file's folder).")] = None,
    workspace: WorkspaceOpt = Path("."),
    split: SplitOpt = None,
    batch_rows: BatchOpt = 2048,
) -> None:
    """Ingest COCO detection/segmentation annotations and their images."""
    _run_ingest(workspace, lambda: read_coco(annotations, images), split, batch_rows)


@ingest_app.command("table")
def ingest_table(
    table: Annotated[Path, typer.Argument(help="CSV, TSV or Parquet file.")],
    image_column: Annotated[str | None, typer.Option(
        help="Column of image paths (default: image_path, image, path, file_name, ...).")] = None,
    label_column: Annotated[str | None, typer.Option(
        help="Label column (default: 'label' if present).")] = None,
    split_column: Annotated[str | None, typer.Option(
        help="Split column (default: 'split' if present).")] = None,
    mask_column: Annotated[str | None, typer.Option(
        help="Column of mask paths, for segmentation labels.")] = None,
    mask_kind: Annotated[str, typer.Option(help="class, instance or matte.")] = "class",
    attributes: Annotated[str | None, typer.Option(
        help="Comma-separated attribute columns (default: all other columns).")] = None,
    root: Annotated[Path | None, typer.Option(
        help="Folder the paths are relative to (default: the table's folder).")] = None,
    workspace: WorkspaceOpt = Path("."),
    split: SplitOpt = None,
    batch_rows: BatchOpt = 2048,
) -> None:
    """Ingest a table of image paths; other columns become typed attributes."""
    attrs = [a.strip() for a in attributes.split(",") if a.strip()] if attributes else None
    _run_ingest(workspace, lambda: read_table(
        table, image_column=image_column, label_column=label_column, split_column=split_column,
        mask_column=mask_column, mask_kind=mask_kind, attributes=attrs, root=root,
    ), split, batch_rows)


@ingest_app.command("masks")
def ingest_masks(
    images: Annotated[Path, typer.Argument(help="Image folder (subfolders = labels).")],
    masks: Annotated[Path | None, typer.Option(
        "--masks", help="Mask folder mirroring IMAGES (same relative names).")] = None,
    alpha_matte: Annotated[bool, typer.Option(
        "--alpha-matte", help="Images are RGBA; their alpha is a soft matte.")] = False,
    mask_kind: Annotated[str, typer.Option(help="class or instance (mask folders).")] = "class",
    workspace: WorkspaceOpt = Path("."),
    split: SplitOpt = None,
    batch_rows: BatchOpt = 2048,
) -> None:
    """Ingest image + mask pairs, or RGBA images whose alpha is a matte (green screen)."""
    _run_ingest(workspace, lambda: read_masks(images, masks, alpha_matte=alpha_matte,
                                              mask_kind=mask_kind), split, batch_rows)


@ingest_app.command("digits")
def ingest_digits(
    workspace: WorkspaceOpt = Path("."),
    n: Annotated[int | None, typer.Option(
        min=0, help="Only the first N digits (default: all 1,797).")] = None,
    split: SplitOpt = None,
    batch_rows: BatchOpt = 2048,
) -> None:
    """Ingest scikit-learn's 1,797 real handwritten digits (shipped offline)."""
    _run_ingest(workspace, lambda: read_digits(n), split, batch_rows)


def _print_info(ws: Workspace) -> None:
    info = ws.info()
    console.print(f"workspace {info.root}", highlight=False)
    console.print(f"  {info.n_samples} sample(s) in {info.n_shards} shard(s), "
                  f"{info.n_rejects} reject(s), {info.bytes_on_disk / 1e6:.1f} MB on disk",
                  highlight=False)
    if info.n_samples:
        by_source = info.counts.groupby("source", dropna=False)["count"].sum()
        by_split = info.counts.groupby("split", dropna=False)["count"].sum()
        by_label = info.counts.groupby("label", dropna=False)["count"].sum()
        by_label.index = by_label.index.fillna("(none)")  # unlabelled rows, listed last
        for title, series in (("source", by_source), ("split", by_split), ("label", by_label)):
            parts = ", ".join(f"{k}: {v}" for k, v in series.items())
            console.print(f"  by {title}: {parts}", highlight=False)


@app.command()
def info(workspace: Annotated[Path, typer.Argument(envvar="CURATOR_WORKSPACE",
                                                   help="Workspace directory.")] = Path(".")
         ) -> None:
    """Counts by source, split and label; shards, rejects and size on disk."""
    with _errors_as_messages():
        _print_info(open_workspace(workspace))


@app.command()
def show(
    workspace: WorkspaceOpt = Path("."),
    columns: Annotated[str | None, typer.Option(
        help="Comma-separated columns (default: all but image/label bytes and objects).")] = None,
    where: Annotated[str | None, typer.Option(
        help="Filter like \"label == '3'\" or \"source == 'real'\" (pandas query syntax).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="Rows to print.")] = 20,
) -> None:
    """Print sample rows (streamed; images are never loaded unless asked for)."""
    import pandas as pd

    with _errors_as_messages():
        ws = open_workspace(workspace)
        schema = ws.samples.schema()
        cols = ([c.strip() for c in columns.split(",")] if columns
                else [f.name for f in schema if f.name != "objects"
                      and not pa.types.is_binary(f.type)])
        frames, got = [], 0
        for batch in ws.iter_batches(columns=cols):
            frame = batch.to_pandas()
            if where:
                try:
                    frame = frame.query(where)
                except Exception as exc:  # pandas raises many types for a bad expression
                    raise CuratorError(f"bad --where {where!r}: {exc}") from None
            frames.append(frame)
            got += len(frame)
            if got >= limit:
                break
        out = pd.concat(frames).head(limit) if frames else pd.DataFrame(columns=cols)
        with pd.option_context("display.max_columns", None, "display.width", 200):
            console.print(out.to_string(index=False), highlight=False)


@app.command()
def rejects(workspace: WorkspaceOpt = Path("."),
            limit: Annotated[int, typer.Option(min=1, help="Rows to print.")] = 50) -> None:
    """List rejected input items with the reason each was refused."""
    with _errors_as_messages():
        ws = open_workspace(workspace)
        frame = ws.rejects.to_table(["format", "item", "reason", "message"]).to_pandas()
        if frame.empty:
            console.print("no rejects")
            return
        table = Table("format", "item", "reason", "message")
        for row in frame.head(limit).itertuples(index=False):
            table.add_row(*(str(v) for v in row))
        console.print(table)
        console.print(f"{len(frame)} reject(s) in total", highlight=False)


assets_app = typer.Typer(help="The asset catalog generators draw from: built-in procedural "
                                "assets plus meshes registered in the workspace.",
                           no_args_is_help=True)
app.add_typer(assets_app, name="assets")


@assets_app.command("list")
def assets_list(
    workspace: WorkspaceOpt = Path("."),
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Only assets with this tag "
                                                  "(repeatable: all must match).")] = None,
) -> None:
    """List assets: id, class label, kind, tags and size range."""
    with _errors_as_messages():
        from generators.workspace_assets import load_catalog

        catalog = load_catalog(open_workspace(workspace))
        table = Table("asset_id", "label", "kind", "tags", "size_m")
        for a in catalog.query(tags=tag or None):
            table.add_row(a.asset_id, a.label, a.kind, ",".join(a.tags),
                          f"{a.size_range_m[0]:g}-{a.size_range_m[1]:g}")
        console.print(table)


@assets_app.command("register")
def assets_register(
    path: Annotated[Path, typer.Argument(help="Mesh file (.obj, .glb, .gltf, .ply, .stl); it "
                                         "is copied into the workspace.")],
    label: Annotated[str, typer.Option("--label", help="Class label of samples showing it.")],
    workspace: WorkspaceOpt = Path("."),
    tags: Annotated[str, typer.Option("--tags", help="Comma-separated tags, e.g. "
                                      "'vehicle,distractor'.")] = "",
    asset_id: Annotated[str | None, typer.Option("--id", help="Asset id (default "
                                                 "mesh_<file stem>).")] = None,
    size_m: Annotated[tuple[float, float], typer.Option(
        "--size-m", help="Longest extent range in metres.")] = (0.5, 1.0),
    rotate_deg: Annotated[tuple[float, float, float] | None, typer.Option(
        "--rotate-deg", help="Turn the mesh so +Y is up and its front faces +Z.")] = None,
) -> None:
    """Register a user mesh so recipes can query it by label or tag."""
    with _errors_as_messages():
        from generators.workspace_assets import register_mesh

        catalog = register_mesh(open_workspace(workspace), path, label=label,
                                tags=[t.strip() for t in tags.split(",") if t.strip()],
                                asset_id=asset_id, size_range_m=size_m, rotate_deg=rotate_deg)
        console.print(f"registered; the workspace catalog now has {len(catalog)} asset(s)")


@app.command()
def recipes(
    recipe: Annotated[str | None, typer.Argument(
        help="A built-in recipe name or a recipe file to show in full.")] = None,
) -> None:
    """List the built-in recipes, or show one recipe with every randomizer's ranges."""
    with _errors_as_messages():
        import yaml

        from generators.recipe import BUILTIN_RECIPES, load_recipe

        if recipe is None:
            table = Table("recipe", "size", "randomizers on", "description")
            for name in BUILTIN_RECIPES:
                r = load_recipe(name)
                table.add_row(name, "x".join(map(str, r.size)), ", ".join(r.enabled),
                              r.config["description"])
            console.print(table)
            console.print("show one: curator recipes digits3d", highlight=False)
            return
        r = load_recipe(recipe)
        console.print(f"# config hash {r.config_hash}; randomizers on: {', '.join(r.enabled)}",
                      highlight=False)
        console.print(yaml.safe_dump(r.to_dict(), sort_keys=False), highlight=False)


@app.command()
def generate(
    recipe: Annotated[str, typer.Argument(
        help="Built-in recipe (digits3d, objects) or a YAML/JSON recipe file.")],
    n: Annotated[int, typer.Option("--n", "-n", min=0, help="Samples in the run (indices "
                                   "0..n-1); indices already in the workspace are skipped.")],
    workspace: WorkspaceOpt = Path("."),
    seed: Annotated[int, typer.Option("--seed", min=0, help="Run seed: same recipe + seed "
                                      "gives the same bytes.")] = 0,
    ablate: Annotated[list[str] | None, typer.Option(
        "--ablate", help="Hold this randomizer at its default (repeatable). One run per "
        "randomizer gives the ablation series; the other randomizers draw the same values.")
    ] = None,
    workers: Annotated[int | None, typer.Option(
        "--workers", min=1, help="Render processes (default: all cores).")] = None,
    executor: Annotated[str | None, typer.Option(
        "--executor", help="local (process pool, the default) or ray (a Ray cluster at "
        "RAY_ADDRESS, else a local Ray; default: ray when RAY_ADDRESS is set). The same "
        "seed renders the same rows either way.")] = None,
    split: Annotated[str, typer.Option("--split", help="Split for the new rows.")] = "train",
    size: Annotated[int | None, typer.Option("--size", min=8, max=4096,
                                             help="Override the recipe's render size (px).")
                    ] = None,
) -> None:
    """Render synthetic samples with perfect labels into the workspace (resumable).

    Example: curator generate digits3d --n 1000 --seed 0 -w WS, then the ablation series:
    curator generate digits3d --n 1000 --seed 0 --ablate lighting -w WS (one per randomizer).
    """
    with _errors_as_messages():
        from generators.recipe import load_recipe
        from generators.run import generate as run_generate

        ws = open_workspace(workspace)
        spec = load_recipe(recipe, {"size": size} if size else None)
        if ablate:
            spec = spec.ablate(*ablate)
        with _progress(f"generate {spec.name}") as progress:
            summary = run_generate(ws, spec, n, seed=seed, workers=workers, split=split,
                                   executor=executor, progress=progress)
        _print_generate(summary)


def _range_opt(text: str | None, name: str) -> tuple[float, float] | None:
    if text is None:
        return None
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise CuratorError(f"--{name} must be 'min,max' (e.g. -15,15), got {text!r}") from None
    return lo, hi


def _write_preview(recipe, n: int, seed: int, out: Path, asset_root: Path | None = None,
                   catalog=None) -> None:
    import io

    from PIL import Image

    from curator.fileio import atomic_write_bytes
    from generators.preview import contact_sheet
    from generators.run import render_preview

    frames = render_preview(recipe, n, seed=seed, finished=True, catalog=catalog,
                            asset_root=asset_root)
    buf = io.BytesIO()
    Image.fromarray(contact_sheet(frames)).save(buf, format="PNG")
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out, buf.getvalue())


@app.command()
def preview(
    recipe: Annotated[str, typer.Argument(help="Built-in recipe or recipe file.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="PNG file to write.")] = Path(
        "preview.png"),
    n: Annotated[int, typer.Option("--n", "-n", min=1, max=64, help="Samples (rows).")] = 6,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Run seed (same samples as "
                                      "`generate` with this seed).")] = 0,
    ablate: Annotated[list[str] | None, typer.Option(
        "--ablate", help="Hold this randomizer at its default (repeatable).")] = None,
    size: Annotated[int | None, typer.Option("--size", min=8, max=4096,
                                             help="Override the render size (px).")] = None,
    workspace: Annotated[Path | None, typer.Option(
        "--workspace", "-w", help="Use this workspace's registered assets too.")] = None,
) -> None:
    """Render a few samples without writing them and save a contact sheet: one row per
    sample, columns image, instance mask, class mask, matte, depth, normals."""
    with _errors_as_messages():
        from generators.recipe import load_recipe

        spec = load_recipe(recipe, {"size": size} if size else None)
        if ablate:
            spec = spec.ablate(*ablate)
        catalog = root = None
        if workspace is not None:
            from generators.workspace_assets import load_catalog

            ws = open_workspace(workspace)
            catalog, root = load_catalog(ws), ws.root
        _write_preview(spec, n, seed, out, root, catalog)
        console.print(f"wrote {out} ({n} samples of {spec.name}; columns: image, instance, "
                      "class, matte, depth, normals)", highlight=False)


@app.command("match-sensor")
def match_sensor(
    recipe: Annotated[str, typer.Argument(help="Built-in recipe or recipe file to match.")],
    workspace: WorkspaceOpt = Path("."),
    where: Annotated[str | None, typer.Option(
        help="Which real samples (pandas query), e.g. \"camera == 'cam2'\".")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Real images to measure.")] = 200,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Write the recipe with these sensor ranges to this YAML file.")] = None,
) -> None:
    """Measure the real camera's noise and blur and turn them into the recipe's sensor
    ranges, so synthetic images get the same sensor look."""
    with _errors_as_messages():
        import yaml

        from curator.fileio import atomic_write_bytes
        from generators.recipe import load_recipe, recipe_source
        from generators.sensor_match import match_sensor_to_workspace

        spec = load_recipe(recipe)
        estimate = match_sensor_to_workspace(open_workspace(workspace), spec, where=where,
                                             limit=limit)
        console.print(str(estimate), highlight=False)
        if out is not None:
            data, _ = recipe_source(recipe, {"randomizers": {"sensor": {
                **{k: v for k, v in estimate.ranges.items()}}}})
            data["name"] = f"{data['name']}-matched"
            atomic_write_bytes(out, yaml.safe_dump(data, sort_keys=False).encode())
            load_recipe(out)  # what we wrote must load
            console.print(f"wrote {out}; render with: curator generate {out} --n N",
                          highlight=False)


@app.command()
def augment(
    n: Annotated[int, typer.Option("--n", "-n", min=1, help="Variants per sample (e.g. 9).")],
    workspace: WorkspaceOpt = Path("."),
    seed: Annotated[int, typer.Option("--seed", min=0, help="Augmentation seed.")] = 0,
    split: Annotated[str, typer.Option(
        "--split", help="Only samples of this split ('all' for every split; augmenting "
        "evaluation data inflates scores).")] = "train",
    where: Annotated[str | None, typer.Option(
        help="Also filter parents, e.g. \"gen_recipe == 'objects'\" (pandas query).")] = None,
    rotate_deg: Annotated[str | None, typer.Option(
        "--rotate-deg", help="Rotation range in degrees, 'min,max' (default -15,15).")] = None,
    scale: Annotated[str | None, typer.Option(
        "--scale", help="Scale range, 'min,max' (default 0.9,1.1).")] = None,
    shift_frac: Annotated[str | None, typer.Option(
        "--shift-frac", help="Shift range as a fraction of the size (default -0.1,0.1).")
    ] = None,
    flip_h: Annotated[float | None, typer.Option(
        "--flip-h", min=0, max=1, help="Probability of a horizontal flip (default 0.5).")
    ] = None,
    min_pixels: Annotated[int, typer.Option(
        "--min-pixels", min=1, help="Objects left with fewer visible pixels are dropped "
        "(their pixels become the ignore id).")] = 1,
) -> None:
    """Add label-consistent affine variants (image, masks, matte, depth, normals and boxes
    move together) of real and synthetic samples; rows get source=augmented and parent_ids.
    Re-running with the same settings and seed skips samples already augmented."""
    with _errors_as_messages():
        from curator.workflows.augment import augment as run_augment

        ranges = {k: v for k, v in {
            "rotate_deg": _range_opt(rotate_deg, "rotate-deg"),
            "scale": _range_opt(scale, "scale"),
            "shift_frac": _range_opt(shift_frac, "shift-frac"), "flip_h": flip_h,
        }.items() if v is not None}
        ws = open_workspace(workspace)
        with _progress("augment") as progress:
            summary = run_augment(ws, n, seed=seed, ranges=ranges, where=where,
                                  split=None if split == "all" else split,
                                  min_pixels=min_pixels, progress=progress)
        console.print(str(summary), highlight=False)


@app.command()
def fill(
    requests: Annotated[Path, typer.Argument(
        help="Generation requests JSON, as written by `curator report` "
             "(report.requests.json) or by hand.")],
    workspace: WorkspaceOpt = Path("."),
    recipe: Annotated[str | None, typer.Option(
        "--recipe", help="Recipe for requests that name none (or to override theirs).")] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Base run seed: request i "
                                      "renders with seed + i, so two requests that narrow a "
                                      "recipe alike both render. Re-running the same file "
                                      "resumes; a new --seed renders a new batch.")] = 0,
    scale: Annotated[float, typer.Option("--scale", min=0.0, help="Multiply every request's "
                                         "count (0.5 renders half).")] = 1.0,
    workers: Annotated[int | None, typer.Option("--workers", min=1,
                                                help="Render processes.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan; render nothing."
                                          )] = False,
) -> None:
    """Render what a report asked for: one narrowed recipe run per generation request.

    Each request ("40 x label 3, pose_yaw_deg 30..60") becomes the recipe with those ranges
    and that label; re-running skips what is already rendered.
    """
    import math

    from curator.requests import parse_requests

    with _errors_as_messages():
        from generators.requests import request_recipe
        from generators.run import generate as run_generate

        if not requests.is_file():
            raise CuratorError(f"requests file {requests} does not exist")
        items = parse_requests(requests.read_text(encoding="utf-8"), str(requests))
        ws = None if dry_run else open_workspace(workspace)
        for i, item in enumerate(items):
            spec, skipped = request_recipe(item, recipe)
            n = max(1, math.ceil(item.n * scale))
            note = f" (not a generator knob, left free: {', '.join(skipped)})" if skipped else ""
            console.print(f"request {i + 1}/{len(items)}: {item.describe()} -> recipe "
                          f"{spec.name}, n {n}{note}", highlight=False)
            if ws is None:
                continue
            with _progress(f"fill {i + 1}/{len(items)}") as progress:
                _print_generate(run_generate(ws, spec, n, seed=seed + i, workers=workers,
                                             progress=progress))


def _print_generate(summary) -> None:
    console.print(
        f"generate {summary.recipe} (config {summary.config_hash}, seed {summary.seed}, "
        f"ablated: {summary.ablated}): {summary.written} written, "
        f"{summary.already_present} already present, {summary.duplicates} duplicate(s), "
        f"{summary.small_objects} object(s) too small to label; "
        f"{summary.rendered} rendered in {summary.seconds:.1f} s "
        f"({summary.images_per_s:.0f} images/s, {summary.workers} worker(s))",
        highlight=False)


@app.command()
def doctor(
    workspace: Annotated[Path, typer.Argument(envvar="CURATOR_WORKSPACE",
                                              help="Workspace directory.")],
    repair: Annotated[bool, typer.Option(
        "--repair", help="Move unreadable files to WS/quarantine/ and delete leftovers of "
        "interrupted writes (nothing else is touched).")] = False,
    deep: Annotated[bool, typer.Option(
        "--deep", help="Read every row group, not only each file's footer.")] = False,
) -> None:
    """Check a workspace's files: unreadable shards, embeddings, subsets, manifests and
    metadata, leftover temp files, sample ids stored twice. Exit 1 while problems remain."""
    from curator.doctor import check_workspace

    with _errors_as_messages():
        report = check_workspace(open_workspace(workspace), repair=repair, deep=deep)
    console.print(str(report), highlight=False, markup=False)
    if not report.healthy and not report.quarantined:
        raise typer.Exit(1)


DEMO_SYNTHETIC_DIGITS = 1800
DEMO_ABLATION_DIGITS = 200
DEMO_OBJECTS = 96


@app.command()
def demo(workspace: Annotated[Path, typer.Option(
        "--workspace", "-w", help="Where to build the demo workspace.")] = Path(
        "data/demo-workspace"),
         small: Annotated[bool, typer.Option(
             "--small", help="A tenth of the synthetic samples (a quick look).")] = False,
         ) -> None:
    """Build the demo workspace: real digits, synthetic 3D digits with an ablation series,
    and labelled multi-object scenes. Re-running resumes (nothing is rendered twice)."""
    scale = 10 if small else 1
    with _errors_as_messages():
        from generators.recipe import load_recipe
        from generators.run import generate as run_generate

        ws = init_workspace(workspace, exist_ok=True)
        console.rule("[bold]1. real data: scikit-learn digits")
        with _progress("ingest digits") as progress:
            summary = ingest(ws, read_digits(), progress=progress)
        _print_summary(summary)

        console.rule("[bold]2. synthetic data: 3D digits rendered to the same 8x8 format")
        digits = load_recipe("digits3d")
        with _progress("generate digits3d") as progress:
            _print_generate(run_generate(ws, digits, DEMO_SYNTHETIC_DIGITS // scale, seed=0,
                                         progress=progress))
        console.rule("[bold]3. ablation series: each randomizer held at its default in turn")
        for name in digits.enabled:
            with _progress(f"generate digits3d --ablate {name}") as progress:
                _print_generate(run_generate(ws, digits.ablate(name), DEMO_ABLATION_DIGITS // scale,
                                             seed=0, progress=progress))
        console.rule("[bold]4. labelled scenes: objects, distractors, occluders (128 px)")
        with _progress("generate objects") as progress:
            _print_generate(run_generate(ws, load_recipe("objects"), DEMO_OBJECTS // scale, seed=0,
                                         progress=progress))
        console.rule("[bold]5. augmentation: x4 label-consistent affine variants of the scenes")
        from curator.workflows.augment import augment as run_augment

        with _progress("augment") as progress:
            console.print(str(run_augment(ws, 4, seed=0, where="gen_recipe == 'objects'",
                                          progress=progress)), highlight=False)
        previews = ws.root / "previews"
        for name, recipe in (("digits3d", digits), ("objects", load_recipe("objects"))):
            _write_preview(recipe, 6, 0, previews / f"{name}.png")
        console.print(f"contact sheets (image, instance, class, matte, depth, normals): "
                      f"{previews}/digits3d.png, {previews}/objects.png", highlight=False)
        demo_analysis(ws)
        demo_experiments(ws)
        demo_report(ws)
        demo_oversample(ws)
        demo_export(ws)
        console.rule("[bold]workspace")
        _print_info(ws)
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


register_analysis_commands(app)
register_report_command(app)
register_oversample_command(app)
register_experiment_command(app)
register_app_command(app)
register_manifest_command(app)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        err_console.print("interrupted; re-run the same command to resume")
        sys.exit(130)


if __name__ == "__main__":
    main()
