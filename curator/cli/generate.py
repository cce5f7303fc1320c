"""Synthetic data commands: ``recipes``, ``generate``, ``preview``, ``match-sensor``,
``augment``, ``fill`` and the ``assets`` catalog, thin shells over :mod:`generators`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from curator.cli.common import WorkspaceOpt, console, errors_as_messages, progress_bar
from curator.errors import CuratorError
from curator.store import open_workspace

assets_app = typer.Typer(help="The asset catalog generators draw from: built-in procedural "
                              "assets plus meshes registered in the workspace.",
                         no_args_is_help=True)


@assets_app.command("list")
def assets_list(
    workspace: WorkspaceOpt = Path("."),
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Only assets with this tag "
                                                  "(repeatable: all must match).")] = None,
) -> None:
    """List assets: id, class label, kind, tags and size range."""
    with errors_as_messages():
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
    with errors_as_messages():
        from generators.workspace_assets import register_mesh

        catalog = register_mesh(open_workspace(workspace), path, label=label,
                                tags=[t.strip() for t in tags.split(",") if t.strip()],
                                asset_id=asset_id, size_range_m=size_m, rotate_deg=rotate_deg)
        console.print(f"registered; the workspace catalog now has {len(catalog)} asset(s)")


def recipes(
    recipe: Annotated[str | None, typer.Argument(
        help="A built-in recipe name or a recipe file to show in full.")] = None,
) -> None:
    """List the built-in recipes, or show one recipe with every randomizer's ranges."""
    with errors_as_messages():
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
    with errors_as_messages():
        from generators.recipe import load_recipe
        from generators.run import generate as run_generate

        ws = open_workspace(workspace)
        spec = load_recipe(recipe, {"size": size} if size else None)
        if ablate:
            spec = spec.ablate(*ablate)
        with progress_bar(f"generate {spec.name}") as progress:
            summary = run_generate(ws, spec, n, seed=seed, workers=workers, split=split,
                                   executor=executor, progress=progress)
        print_generate_summary(summary)


def _range_opt(text: str | None, name: str) -> tuple[float, float] | None:
    if text is None:
        return None
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise CuratorError(f"--{name} must be 'min,max' (e.g. -15,15), got {text!r}") from None
    return lo, hi


def write_preview(recipe, n: int, seed: int, out: Path, asset_root: Path | None = None,
                  catalog=None) -> None:
    """Render ``n`` samples of ``recipe`` and write their contact sheet to ``out`` (PNG)."""
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
    with errors_as_messages():
        from generators.recipe import load_recipe

        spec = load_recipe(recipe, {"size": size} if size else None)
        if ablate:
            spec = spec.ablate(*ablate)
        catalog = root = None
        if workspace is not None:
            from generators.workspace_assets import load_catalog

            ws = open_workspace(workspace)
            catalog, root = load_catalog(ws), ws.root
        write_preview(spec, n, seed, out, root, catalog)
        console.print(f"wrote {out} ({n} samples of {spec.name}; columns: image, instance, "
                      "class, matte, depth, normals)", highlight=False)


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
    with errors_as_messages():
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
    with errors_as_messages():
        from curator.workflows.augment import augment as run_augment

        ranges = {k: v for k, v in {
            "rotate_deg": _range_opt(rotate_deg, "rotate-deg"),
            "scale": _range_opt(scale, "scale"),
            "shift_frac": _range_opt(shift_frac, "shift-frac"), "flip_h": flip_h,
        }.items() if v is not None}
        ws = open_workspace(workspace)
        with progress_bar("augment") as progress:
            summary = run_augment(ws, n, seed=seed, ranges=ranges, where=where,
                                  split=None if split == "all" else split,
                                  min_pixels=min_pixels, progress=progress)
        console.print(str(summary), highlight=False)


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
    with errors_as_messages():
        from curator.workflows.fill import fill_steps, read_requests, render_step

        items = read_requests(requests)
        ws = None if dry_run else open_workspace(workspace)
        for step in fill_steps(items, recipe, scale):
            i = step.index
            note = (f" (not a generator knob, left free: {', '.join(step.skipped)})"
                    if step.skipped else "")
            console.print(f"request {i + 1}/{len(items)}: {step.request.describe()} -> recipe "
                          f"{step.recipe.name}, n {step.n}{note}", highlight=False)
            if ws is None:
                continue
            with progress_bar(f"fill {i + 1}/{len(items)}") as progress:
                print_generate_summary(render_step(ws, step, seed=seed, workers=workers,
                                                   progress=progress))

def print_generate_summary(summary) -> None:
    """One line per generate run: what was written, skipped and how fast."""
    console.print(
        f"generate {summary.recipe} (config {summary.config_hash}, seed {summary.seed}, "
        f"ablated: {summary.ablated}): {summary.written} written, "
        f"{summary.already_present} already present, {summary.duplicates} duplicate(s), "
        f"{summary.small_objects} object(s) too small to label; "
        f"{summary.rendered} rendered in {summary.seconds:.1f} s "
        f"({summary.images_per_s:.0f} images/s, {summary.workers} worker(s))",
        highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(assets_app, name="assets")
    for command in (recipes, generate, preview):
        app.command()(command)
    app.command("match-sensor")(match_sensor)
    app.command()(augment)
    app.command()(fill)
