"""Command line for selection: ``select`` (nearest, coverage, dedup, mix) and ``subsets``
(thin shells over :mod:`curator.select` and :mod:`curator.subsets`), the registration of
all analysis commands (these and :mod:`curator.cli.embed`'s) and the demo's analysis steps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer

from curator.cli.common import WorkspaceOpt, console, errors_as_messages, progress_bar
from curator.cli.embed import (
    EmbeddingOpt,
    SeedOpt,
    WhereOpt,
    embed,
    embeddings,
    index,
    map_,
    models_app,
    neighbors,
)
from curator.errors import CuratorError
from curator.query import parse_wheres
from curator.store import Workspace, open_workspace

ForceOpt = Annotated[bool, typer.Option("--force", help="Replace a subset of the same name.")]


def _load(ws: Workspace, embedding: str, where: list[str] | None, columns: list[str]):
    """Vectors of ``embedding`` restricted to samples matching ``where``, plus columns."""
    from curator.embed import load_embedding

    emb = load_embedding(ws, embedding)
    filters = parse_wheres(where)
    rows = ws.to_pandas(["sample_id", *[c for c in columns if c != "sample_id"]], filters)
    rows = rows.drop_duplicates("sample_id").set_index("sample_id")
    keep = np.isin(emb.ids, rows.index.to_numpy())
    ids = emb.ids[keep]
    if len(ids) == 0:
        raise CuratorError(f"no samples of embedding {embedding!r} match "
                           f"{where or 'the workspace'}")
    return ids, emb.vectors[keep], rows.loc[ids].reset_index(), emb


# -- select -----------------------------------------------------------------------------------
select_app = typer.Typer(help="Pick training subsets from an embedding and save them by name "
                              "in subsets/ (nearest, coverage, dedup, mix).",
                         no_args_is_help=True)


def _save(ws: Workspace, name: str, selection, force: bool, extra: dict[str, Any]) -> None:
    from curator.subsets import save_subset

    path = save_subset(ws, name, selection, overwrite=force, extra=extra)
    console.print(str(selection), highlight=False)
    if selection.summary is not None:
        with pd.option_context("display.max_columns", None, "display.width", 200,
                               "display.max_colwidth", 60):
            console.print(selection.summary.to_string(index=False), highlight=False)
    for title, table in selection.tables.items():
        if len(table):
            console.rule(f"{title} ({len(table):,}; first 10)")
            console.print(table.head(10).to_string(index=False), highlight=False)
    console.print(f"saved subset {name!r}: {path}", highlight=False)


@select_app.command("nearest")
def select_nearest(
    name: Annotated[str, typer.Argument(help="Name of the subset to save.")],
    workspace: WorkspaceOpt = Path("."),
    target: Annotated[list[str] | None, typer.Option(
        "--target", help="Attribute target, e.g. 'pose_yaw_deg=30..60,color_temp_k=3200' "
                         "(ranges lo..hi; repeatable).")] = None,
    target_id: Annotated[list[str] | None, typer.Option(
        "--target-id", help="A sample to find more like (repeatable; needs --embedding).")
    ] = None,
    embedding: Annotated[str | None, typer.Option(
        "--embedding", "-e", help="Embedding for --target-id (attribute targets are "
                                  "matched on the attributes they name).")] = None,
    where: WhereOpt = None,
    k: Annotated[int, typer.Option("--k", "-k", min=1, help="Samples per target.")] = 5,
    max_total: Annotated[int | None, typer.Option(min=0, help="Global quota.")] = None,
    steps: Annotated[int, typer.Option(min=1, help="Points per target range.")] = 3,
    force: ForceOpt = False,
) -> None:
    """The k nearest candidates per target, without reusing a candidate.

    Example (the shots we need): curator select nearest need-side-warm
    --target 'pose_yaw_deg=30..60,color_temp_k=3200' --k 20 -w WS
    """
    from curator.explore import nearest_to_attributes
    from curator.select import select_nearest_to_targets

    with errors_as_messages():
        ws = open_workspace(workspace)
        if bool(target) == bool(target_id):
            raise CuratorError("give --target (attribute targets) or --target-id (samples), "
                               "not both or neither")
        if target_id:
            if not embedding:
                raise CuratorError("--target-id needs --embedding")
            ids, X, _, emb = _load(ws, embedding, where, [])
            T = emb.vectors[emb.positions(target_id)]
            sel = select_nearest_to_targets(X, T, k=k, max_total=max_total, candidate_ids=ids,
                                            target_names=target_id)
            extra = {"embedding": embedding, "embedding_config": emb.info.config_hash}
        else:
            sel = nearest_to_attributes(ws, target, k=k, steps=steps,
                                        filters=parse_wheres(where), max_total=max_total)
            extra = {"targets": target, "attributes": sel.params["attributes"]}
        _save(ws, name, sel, force, {**extra, "where": where})


@select_app.command("coverage")
def select_coverage_cmd(
    name: Annotated[str, typer.Argument(help="Name of the subset to save.")],
    embedding: EmbeddingOpt,
    m: Annotated[int, typer.Option("--m", "-m", min=1, help="Samples to pick.")],
    workspace: WorkspaceOpt = Path("."),
    where: WhereOpt = None,
    extend: Annotated[str | None, typer.Option(
        help="Treat samples of this source (e.g. real) as already chosen; pick m more.")
    ] = None,
    force: ForceOpt = False,
) -> None:
    """m samples that cover the embedding (greedy k-center); prints the coverage radius."""
    from curator.select import select_coverage

    with errors_as_messages():
        ws = open_workspace(workspace)
        ids, X, rows, emb = _load(ws, embedding, where, ["source"])
        pre = np.flatnonzero(rows.source.to_numpy() == extend) if extend else None
        sel = select_coverage(X, m, ids=ids, preselected=pre)
        _save(ws, name, sel, force, {"embedding": embedding,
                                     "embedding_config": emb.info.config_hash, "where": where})


@select_app.command("dedup")
def select_dedup(
    name: Annotated[str, typer.Argument(help="Name of the de-duplicated subset to save.")],
    embedding: EmbeddingOpt,
    workspace: WorkspaceOpt = Path("."),
    where: WhereOpt = None,
    threshold: Annotated[float | None, typer.Option(
        min=0.0, help="Distance under which two samples are near-duplicates.")] = None,
    scale: Annotated[float, typer.Option(
        min=0.0, help="Without --threshold: this times the median nearest-neighbour "
                      "distance.")] = 0.2,
    force: ForceOpt = False,
) -> None:
    """Near-duplicate groups (one kept per group) and train/test leakage.

    Within a group, samples in an evaluation split are kept first (so leakage is removed
    from training), then real before synthetic.
    """
    from curator.select import EVAL_SPLITS, select_deduplicated

    with errors_as_messages():
        ws = open_workspace(workspace)
        ids, X, rows, emb = _load(ws, embedding, where, ["source", "split"])
        prio = np.where(rows.split.isin(EVAL_SPLITS), 0, 1) * 2 + (rows.source != "real")
        sel = select_deduplicated(X, ids=ids, splits=rows.split.tolist(), priority=prio,
                                  threshold=threshold, scale=scale)
        _save(ws, name, sel, force, {"embedding": embedding,
                                     "embedding_config": emb.info.config_hash, "where": where})


def _ratio(text: str) -> float:
    real, sep, syn = text.partition(":")
    try:
        r, s = float(real), float(syn)
    except ValueError:
        r = s = -1.0
    if not sep or r <= 0 or s < 0:
        raise CuratorError(f"bad --ratio {text!r}: write REAL:SYNTHETIC, e.g. 1:2 (two "
                           "synthetic per real) or 4:1")
    return s / r


@select_app.command("mix")
def select_mix_cmd(
    name: Annotated[str, typer.Argument(help="Name of the subset to save.")],
    embedding: EmbeddingOpt,
    ratio: Annotated[str, typer.Option(help="REAL:SYNTHETIC, e.g. 1:1 or 1:3.")] = "1:1",
    workspace: WorkspaceOpt = Path("."),
    where: WhereOpt = None,
    by: Annotated[str | None, typer.Option(
        help="Strata: comma-separated columns; numeric ones binned (col:N for N bins), "
             "e.g. label or label,pose_yaw_deg:4.")] = None,
    n_real: Annotated[int | None, typer.Option(min=0, help="Real samples per stratum "
                                               "(default: all).")] = None,
    n_total: Annotated[int | None, typer.Option(min=0, help="Total per stratum.")] = None,
    synthetic_source: Annotated[list[str] | None, typer.Option(
        help="Sources counted as synthetic (default: synthetic).")] = None,
    fill: Annotated[bool, typer.Option(
        "--fill", help="When one side is short, fill the total with the other instead of "
                       "shrinking both to keep the ratio.")] = False,
    synthetic_weight: Annotated[float | None, typer.Option(
        "--synthetic-weight", help="Weight of each synthetic row in the subset's weight "
        "column (a real row weighs 1), e.g. the weight `curator experiment ratio --regime "
        "weighted` chose; manifests and exports carry it.")] = None,
    seed: SeedOpt = 0,
    force: ForceOpt = False,
) -> None:
    """A real + synthetic subset with the requested ratio per stratum; synthetic samples
    closest to the real ones first. Reports requested vs achieved per stratum. With
    --synthetic-weight W the subset weighs each synthetic row W.

    Example: curator select mix digits-1to1 -e pixels --ratio 1:1 --by label
    --where "split == 'train'" -w WS
    """
    from curator.select import select_mix
    from curator.strata import parse_by, stratum_keys

    with errors_as_messages():
        ws = open_workspace(workspace)
        strata_cols = [c for c, _ in parse_by(by)]
        ids, X, rows, emb = _load(ws, embedding, where, ["source", *strata_cols])
        syn_sources = synthetic_source or ["synthetic"]
        sel = select_mix(X, ids=ids, is_real=rows.source == "real",
                         is_synthetic=rows.source.isin(syn_sources),
                         strata=stratum_keys(rows, by) if by else None,
                         synthetic_per_real=_ratio(ratio), n_real=n_real, n_total=n_total,
                         keep_ratio=not fill, random_state=seed,
                         synthetic_weight=synthetic_weight)
        _save(ws, name, sel, force, {"embedding": embedding, "by": by, "ratio": ratio,
                                     "embedding_config": emb.info.config_hash, "where": where})


# -- subsets ----------------------------------------------------------------------------------
subsets_app = typer.Typer(help="Saved subsets (from `curator select`).", no_args_is_help=True)


@subsets_app.command("list")
def subsets_list(workspace: WorkspaceOpt = Path(".")) -> None:
    """Saved subsets with their method, size and creation time."""
    from rich.table import Table

    from curator.subsets import list_subsets, load_subset

    with errors_as_messages():
        ws = open_workspace(workspace)
        names = list_subsets(ws)
        if not names:
            console.print("no subsets yet; make one with `curator select ...`")
            return
        table = Table("name", "method", "samples", "created", "stats")
        for n in names:
            sub = load_subset(ws, n)
            stats = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                              for k, v in (sub.meta.get("stats") or {}).items())
            table.add_row(n, str(sub.meta.get("method")), f"{len(sub.frame):,}",
                          str(sub.meta.get("created_at", ""))[:19], stats)
        console.print(table)


@subsets_app.command("show")
def subsets_show(name: Annotated[str, typer.Argument(help="Subset name.")],
                 workspace: WorkspaceOpt = Path("."),
                 limit: Annotated[int, typer.Option(min=1, help="Rows to print.")] = 20) -> None:
    """A saved subset's parameters, summary and first rows."""
    from curator.subsets import load_subset

    with errors_as_messages():
        ws = open_workspace(workspace)
        sub = load_subset(ws, name)
        meta = {k: v for k, v in sub.meta.items() if k != "summary"}
        console.print(json.dumps(meta, indent=2, default=str), highlight=False)
        if sub.meta.get("summary"):
            console.print(pd.DataFrame(sub.meta["summary"]).to_string(index=False),
                          highlight=False)
        with pd.option_context("display.max_colwidth", 70, "display.width", 200):
            console.print(sub.frame.head(limit).to_string(index=False), highlight=False)


def register(app: typer.Typer) -> None:
    """Add these commands to the main ``curator`` app."""
    app.command("embed")(embed)
    app.command("embeddings")(embeddings)
    app.command("map")(map_)
    app.command("index")(index)
    app.command("neighbors")(neighbors)
    app.add_typer(select_app, name="select")
    app.add_typer(subsets_app, name="subsets")
    app.add_typer(models_app, name="models")


# -- demo -------------------------------------------------------------------------------------
DEMO_OBJECTS = "gen_recipe == 'objects'"


def demo_analysis(ws: Workspace, *, with_cnn: bool = True) -> None:
    """The demo's analysis steps: embeddings, a 2-D map, indices and four selections."""
    from curator.embed import AttributeEmbedder, PixelEmbedder, embed_workspace, load_embedding
    from curator.embed.map2d import embedding_map
    from curator.index_store import workspace_index
    from curator.neighbors import NeighborIndex
    from curator.select import (
        EVAL_SPLITS,
        parse_target,
        select_coverage,
        select_deduplicated,
        select_mix,
        select_nearest_to_targets,
        target_points,
    )
    from curator.strata import stratum_keys
    from curator.subsets import save_subset

    console.rule("[bold]6. embeddings: pixels (all), attributes and cnn (scenes)")
    jobs = [(PixelEmbedder(size=8, n_components=32), "pixels", None),
            (AttributeEmbedder(cyclic_deg=["pose_yaw_deg", "light_azimuth_deg"]),
             "attributes", [parse_wheres([DEMO_OBJECTS])[0]])]
    if with_cnn:
        try:
            from curator.embed.cnn import CnnEmbedder

            jobs.append((CnnEmbedder(), "cnn", [parse_wheres([DEMO_OBJECTS])[0]]))
        except ImportError as exc:  # the cnn extra is not installed
            console.print(f"skipping cnn embedding ({exc}); install curator[cnn]", markup=False)
    for embedder, name, filters in jobs:
        try:
            with progress_bar(f"embed {name}") as progress:
                summary = embed_workspace(ws, embedder, name=name, filters=filters,
                                          progress=progress)
        except CuratorError as exc:
            if name != "cnn":
                raise
            console.print(f"skipping cnn embedding: {exc}", highlight=False)
            continue
        console.print(str(summary), highlight=False)
    pixels = load_embedding(ws, "pixels")
    frame = embedding_map(ws, "pixels", embedding=pixels)
    console.print(f"2-D map of pixels: {len(frame):,} points (cached for the app)",
                  highlight=False)
    exact = workspace_index(ws, pixels)
    ivf = workspace_index(ws, pixels, NeighborIndex(10, index="IVF"))
    console.print(f"neighbour indices over {exact.n_samples_fit_:,} vectors: exact Flat, and "
                  f"{ivf.factory_} with recall@10 {ivf.recall_:.3f} (nprobe {ivf.effort_})",
                  highlight=False)

    console.rule("[bold]7. selection: mix, coverage, de-duplication, shots by pose and light")
    rows = ws.to_pandas(["sample_id", "source", "label", "split", "generator"])
    rows = rows.set_index("sample_id").loc[pixels.ids].reset_index()
    digits = (rows.split == "train").to_numpy() & rows.generator.isin(
        ["ingest.digits", "generators.digits3d"]).to_numpy()
    sel = select_mix(pixels.vectors[digits], ids=pixels.ids[digits],
                     is_real=rows.source[digits] == "real",
                     is_synthetic=rows.source[digits] == "synthetic",
                     strata=stratum_keys(rows[digits], "label"), synthetic_per_real=1.0,
                     n_real=50)
    save_subset(ws, "demo-digits-mix-1to1", sel, overwrite=True,
                extra={"embedding": "pixels", "by": "label", "ratio": "1:1"})
    console.print(f"{sel} -> subset demo-digits-mix-1to1", highlight=False)
    sel = select_coverage(pixels.vectors, 200, ids=pixels.ids)
    save_subset(ws, "demo-coverage-200", sel, overwrite=True, extra={"embedding": "pixels"})
    console.print(f"{sel} -> subset demo-coverage-200", highlight=False)
    prio = np.where(rows.split.isin(EVAL_SPLITS), 0, 1) * 2 + (rows.source != "real")
    sel = select_deduplicated(pixels.vectors, ids=pixels.ids, splits=rows.split.tolist(),
                              priority=prio.to_numpy(), index=exact)
    save_subset(ws, "demo-dedup", sel, overwrite=True, extra={"embedding": "pixels"})
    console.print(f"{sel} -> subset demo-dedup", highlight=False)
    spec = "pose_yaw_deg=30..60,color_temp_k=2500..3500"
    points, quotas = target_points([parse_target(spec)], steps=3, k=12)
    scenes = ws.to_pandas(["sample_id", "pose_yaw_deg", "color_temp_k"],
                          parse_wheres([DEMO_OBJECTS]))
    enc = AttributeEmbedder(columns=["pose_yaw_deg", "color_temp_k"],
                            cyclic_deg=["pose_yaw_deg"]).fit(scenes)
    sel = select_nearest_to_targets(enc.transform(scenes), enc.transform(points),
                                    quotas=quotas, candidate_ids=scenes.sample_id,
                                    target_names=points.target)
    save_subset(ws, "demo-shots-yaw30-60-warm", sel, overwrite=True, extra={"targets": [spec]})
    picked = scenes.set_index("sample_id").loc[sel.ids]
    inside = (picked.pose_yaw_deg.between(30, 60) & picked.color_temp_k.between(2500, 3500))
    available = int((scenes.pose_yaw_deg.between(30, 60)
                     & scenes.color_temp_k.between(2500, 3500)).sum())
    console.print(f"{sel} -> subset demo-shots-yaw30-60-warm: {int(inside.sum())} of them "
                  f"inside both ranges ({available} of {len(scenes)} scenes are"
                  f"{': a coverage gap to render' if available < len(sel) else ''}); median "
                  f"yaw {picked.pose_yaw_deg.median():.0f} deg, median "
                  f"{picked.color_temp_k.median():.0f} K", highlight=False)
