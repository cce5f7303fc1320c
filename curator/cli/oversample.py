"""``curator oversample``: SMOTE-style rows for under-represented strata, with provenance."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from curator.cli.common import WorkspaceOpt, console, errors_as_messages, progress_bar
from curator.errors import CuratorError
from curator.query import parse_wheres
from curator.store import open_workspace


def parse_target(text: str) -> Any:
    """``balanced`` -> imblearn's ``"auto"`` (every stratum up to the largest); a whole number
    N -> every stratum up to at least N; a fraction r in (0, 1] -> up to r x the largest."""
    if text == "balanced":
        return "auto"
    try:
        value = float(text)
    except ValueError:
        raise CuratorError(f"--target must be 'balanced', a count (e.g. 200) or a fraction "
                           f"of the largest stratum (e.g. 0.5), got {text!r}") from None
    if value.is_integer() and value >= 1 and "." not in text:
        return int(value)
    if not 0 < value <= 1:
        raise CuratorError(f"--target fraction must be in (0, 1], got {text!r}")
    return value


def oversample(
    workspace: WorkspaceOpt = Path("."),
    embedding: Annotated[str, typer.Option(
        "--embedding", "-e", help="Feature space: the embedding whose vectors are "
        "interpolated (pixels, attributes, ...).")] = "pixels",
    render: Annotated[bool, typer.Option(
        "--render", help="Parameter space: interpolate the generator parameters of rendered "
        "samples and render new images with perfect labels (source=synthetic).")] = False,
    images: Annotated[bool, typer.Option(
        "--images", help="Image space: fit a PCA + Gaussian-mixture model per short stratum "
        "on its images (real ones by default) and sample new images.")] = False,
    table: Annotated[str | None, typer.Option(
        "--table", help="Attribute space: SMOTE-NC over these attribute columns, e.g. "
        "'pose_yaw_deg,color_temp_k,bg_kind' (floats interpolated; text, flags and counts "
        "by neighbour vote); new rows carry the attributes, no vector.")] = None,
    like: Annotated[list[str] | None, typer.Option(
        "--like", help="With --render: 'more like this one': --n renders around this "
        "rendered sample's recorded parameters (repeatable).")] = None,
    n: Annotated[int, typer.Option("--n", min=1, help="Variations per --like sample.")] = 5,
    by: Annotated[str, typer.Option("--by", help="Strata to balance: label and binned "
                                    "attributes, e.g. 'label,pose_yaw_deg:4' (the label is "
                                    "always included).")] = "label",
    target: Annotated[str, typer.Option("--target", help="'balanced' (every stratum up to "
                                        "the largest), a count N (each stratum up to N), or "
                                        "a fraction of the largest (0.5).")] = "balanced",
    sampler: Annotated[str, typer.Option("--sampler", help="Feature space: smote, "
                                         "borderline (Borderline-SMOTE 1), adasyn (more "
                                         "near hard samples), smote-tomek or "
                                         "smote-enn (SMOTE, then a cleaner that lists the "
                                         "samples it would drop).")] = "smote",
    k: Annotated[int, typer.Option("--k", min=1, help="Neighbours per minority sample.")] = 5,
    where: Annotated[list[str] | None, typer.Option(
        "--where", help="Only these samples take part, e.g. \"source == 'real'\" "
        "(repeatable; --images defaults to the real samples).")] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="random_state.")] = 0,
    workers: Annotated[int | None, typer.Option(
        "--workers", min=1, help="With --render: render processes (default: all cores).")
    ] = None,
    executor: Annotated[str | None, typer.Option(
        "--executor", help="With --render: local (process pool, the default) or ray (a Ray "
        "cluster at RAY_ADDRESS, else a local Ray). Same seed, same rows either way.")
    ] = None,
) -> None:
    """Make more of the under-represented strata, with provenance, in one of three spaces.

    Feature space (default): SMOTE rows (source=oversampled, no image) between neighbours of
    one stratum in an embedding, each with its two parents and the weight.
    --render: the same between generator parameters, rendered as new labelled images.
    --images: new images sampled from a small generative model of the stratum's images.
    --table COLS: SMOTE-NC rows over attribute columns (numbers and categories).

    --render --like ID: variations around one rendered sample's parameters.

    Examples: curator oversample -e pixels --where "source == 'real'" -w WS;
    curator oversample --by label,pose_yaw_deg:4 --target balanced --render -w WS;
    curator oversample --render --like SAMPLE_ID --n 8 -w WS;
    curator oversample --table pose_yaw_deg,color_temp_k,bg_kind --where "source ==
    'synthetic'" -w WS
    """
    with errors_as_messages():
        from curator.oversample import strategy_for
        from curator.workflows.oversample import oversample_workspace

        if sum([render, images, table is not None]) > 1:
            raise CuratorError("choose one of --render, --images and --table (or none, for "
                               "feature space)")
        if like and not render:
            raise CuratorError("--like re-renders exemplars: add --render")
        if (workers is not None or executor is not None) and not render:
            raise CuratorError("--workers and --executor apply to --render (the other "
                               "spaces are one in-process imbalanced-learn or model call)")
        ws = open_workspace(workspace)
        goal = strategy_for(parse_target(target))
        filters = parse_wheres(where)
        if render and like:
            from curator.workflows.param_oversample import variations_workspace

            with progress_bar("render variations") as progress:
                summary = variations_workspace(ws, like, n, random_state=seed, workers=workers,
                                               executor=executor, progress=progress)
        elif render:
            from curator.workflows.param_oversample import oversample_render_workspace

            with progress_bar("render interpolations") as progress:
                summary = oversample_render_workspace(ws, by=by, target=goal, k_neighbors=k,
                                                      filters=filters, random_state=seed,
                                                      workers=workers, executor=executor,
                                                      progress=progress)
        elif table is not None:
            from curator.workflows.oversample import oversample_table_workspace

            columns = [c.strip() for c in table.split(",") if c.strip()]
            if not columns:
                raise CuratorError("--table needs attribute columns, e.g. "
                                   "'pose_yaw_deg,bg_kind'")
            summary = oversample_table_workspace(ws, columns, by=by, filters=filters,
                                                 k_neighbors=k, sampling_strategy=goal,
                                                 random_state=seed)
        elif images:
            from curator.workflows.oversample import oversample_images_workspace

            summary = oversample_images_workspace(ws, by=by, target=goal, filters=filters,
                                                  random_state=seed)
        else:
            summary = oversample_workspace(ws, embedding, by=by, filters=filters,
                                           sampler=sampler, k_neighbors=k,
                                           sampling_strategy=goal, random_state=seed)
        console.print(str(summary), highlight=False)


def register(app: typer.Typer) -> None:
    app.command("oversample")(oversample)


def demo_oversample(ws) -> None:
    """The demo's oversampling step: one run in each space, with provenance."""
    from curator.workflows.oversample import (
        oversample_images_workspace,
        oversample_table_workspace,
        oversample_workspace,
    )
    from curator.workflows.param_oversample import oversample_render_workspace

    console.rule("[bold]11. oversampling: features (SMOTE), generator parameters, attributes "
                 "(SMOTE-NC), images")
    real = [("source", "==", "real")]
    steps = [
        ("feature space: SMOTE on pixels, real digits up to the largest class",
         lambda: oversample_workspace(ws, "pixels", filters=real)),
        ("parameter space: interpolated pose, light and camera of 3D digits, rendered "
         "(label x yaw half up to 85% of the largest)",
         lambda: oversample_render_workspace(ws, by="label,pose_yaw_deg:2", target=0.85,
                                             filters=[("gen_recipe", "==", "digits3d")])),
        ("attribute space: SMOTE-NC over yaw, colour temperature and background kind of "
         "3D digits (no image, no vector)",
         lambda: oversample_table_workspace(
             ws, ["pose_yaw_deg", "color_temp_k", "bg_kind"],
             filters=[("gen_recipe", "==", "digits3d")])),
        ("image space: PCA + Gaussian mixture per real digit class",
         lambda: oversample_images_workspace(ws, filters=real)),
    ]
    for what, run in steps:
        console.print(f"{what}:\n  {run()}", highlight=False)
