"""Command line for embeddings and neighbours: ``embed``, ``embeddings``, ``map``, ``index``,
``neighbors`` and ``models export`` (thin shells over :mod:`curator.embed` and
:mod:`curator.neighbors`); also the options :mod:`curator.cli.select` shares with them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from curator.cli.common import WorkspaceOpt, console, errors_as_messages, progress_bar
from curator.errors import CuratorError
from curator.query import parse_wheres
from curator.store import open_workspace

EmbeddingOpt = Annotated[str, typer.Option(
    "--embedding", "-e", help="Embedding to search in (see `curator embeddings`).")]
WhereOpt = Annotated[list[str] | None, typer.Option(
    "--where", help="Only samples matching COLUMN OP VALUE, e.g. \"source == 'real'\" "
    "(repeatable; all must hold).")]
SeedOpt = Annotated[int, typer.Option("--seed", min=0, help="Random seed (same seed, same "
                                      "subset).")]


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _pairs(items: list[str] | None, what: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, val = item.partition("=")
        if not sep or not key.strip():
            raise CuratorError(f"bad {what} {item!r}: write key=value")
        out[key.strip()] = _value(val.strip())
    return out


# -- embed ------------------------------------------------------------------------------------
def embed(
    backend: Annotated[str, typer.Argument(
        help="pixels | cnn | attributes | precomputed")],
    workspace: WorkspaceOpt = Path("."),
    name: Annotated[str | None, typer.Option(
        "--name", help="Embedding name (default: the backend's name).")] = None,
    where: WhereOpt = None,
    size: Annotated[int | None, typer.Option(help="pixels: side of the resized square.")
                    ] = None,
    components: Annotated[int | None, typer.Option(help="pixels: PCA components.")] = None,
    columns: Annotated[str | None, typer.Option(
        help="attributes: comma-separated columns (default: all flat attributes but ids "
             "and seeds).")] = None,
    weight: Annotated[list[str] | None, typer.Option(
        help="attributes: COLUMN=WEIGHT (repeatable).")] = None,
    cyclic: Annotated[str | None, typer.Option(
        help="attributes: comma-separated angle columns in degrees, encoded as sin/cos.")
    ] = None,
    column: Annotated[str | None, typer.Option(
        help="precomputed: the list-of-numbers column holding the vectors.")] = None,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="Any other backend parameter as KEY=VALUE (JSON values), e.g. "
                      "--set color='\"rgb\"' or --set image_size=160.")] = None,
    refit: Annotated[bool, typer.Option(
        "--refit", help="Rebuild from scratch (needed after changing parameters).")] = False,
    fit_samples: Annotated[int, typer.Option(min=1, help="Fit on at most this many samples.")
                           ] = 10_000,
    seed: SeedOpt = 0,
    batch_size: Annotated[int, typer.Option(min=1, help="Samples per transform batch.")
                          ] = 512,
    workers: Annotated[int | None, typer.Option(
        "--workers", min=1, help="Transform batches in this many processes (default: this "
        "one process locally; on Ray, the cluster's CPUs).")] = None,
    executor: Annotated[str | None, typer.Option(
        "--executor", help="local or ray (a Ray cluster at RAY_ADDRESS, else a local "
        "Ray; default: ray when RAY_ADDRESS is set). Same vectors either way.")] = None,
) -> None:
    """Give every sample (matching --where) a vector; re-runs embed only new samples.

    Examples: curator embed pixels --size 8 -w WS;
    curator embed attributes --cyclic pose_yaw_deg --where "gen_recipe == 'objects'" -w WS;
    curator embed cnn --where "gen_recipe == 'objects'" -w WS (needs the `cnn` extra).
    """
    from curator.embed import embed_workspace, make_embedder

    with errors_as_messages():
        ws = open_workspace(workspace)
        params = _pairs(set_, "--set")
        for key, val in (("size", size), ("n_components", components), ("column", column)):
            if val is not None:
                params[key] = val
        if columns:
            params["columns"] = [c.strip() for c in columns.split(",") if c.strip()]
        if weight:
            params["weights"] = {k: float(v) for k, v in _pairs(weight, "--weight").items()}
        if cyclic:
            params["cyclic_deg"] = [c.strip() for c in cyclic.split(",") if c.strip()]
        embedder = make_embedder(backend, **params)
        with progress_bar(f"embed {backend}") as progress:
            summary = embed_workspace(ws, embedder, name=name, filters=parse_wheres(where),
                                      refit=refit, fit_samples=fit_samples, random_state=seed,
                                      batch_size=batch_size, progress=progress,
                                      executor=executor, workers=workers)
        console.print(str(summary), highlight=False)


def embeddings(workspace: Annotated[Path, typer.Argument(
        envvar="CURATOR_WORKSPACE", help="Workspace directory.")] = Path(".")) -> None:
    """List the workspace's embeddings: backend, dimension, vectors, configuration."""
    from rich.table import Table

    from curator.embed import EmbeddingStore, list_embeddings

    with errors_as_messages():
        ws = open_workspace(workspace)
        names = list_embeddings(ws)
        if not names:
            console.print("no embeddings yet; make one with `curator embed pixels -w WS`")
            return
        table = Table("name", "backend", "dim", "vectors", "config", "filters", "params")
        for n in names:
            store = EmbeddingStore(ws, n)
            info = store.info()
            table.add_row(n, info.backend, str(info.dim), f"{store.vectors.count():,}",
                          info.config_hash, json.dumps(info.filters) if info.filters else "",
                          " ".join(f"{k}={json.dumps(v)}" for k, v in sorted(info.params.items())
                                   if v is not None))
        console.print(table)


def map_(
    embedding: Annotated[str, typer.Argument(help="Embedding name.")],
    workspace: WorkspaceOpt = Path("."),
    method: Annotated[str, typer.Option(help="auto (UMAP, PCA for tiny sets) | umap | pca")
                      ] = "auto",
    n_neighbors: Annotated[int, typer.Option(min=2, help="UMAP neighbourhood size.")] = 15,
    seed: SeedOpt = 0,
    refresh: Annotated[bool, typer.Option("--refresh", help="Recompute even if cached.")
                       ] = False,
) -> None:
    """Compute (or reuse) the 2-D map of an embedding that plots and the app show."""
    from curator.embed.map2d import embedding_map

    with errors_as_messages():
        ws = open_workspace(workspace)
        frame = embedding_map(ws, embedding, method=method, n_neighbors=n_neighbors,
                              random_state=seed, refresh=refresh)
        console.print(f"map of {embedding}: {len(frame):,} points "
                      f"(x in [{frame.x.min():.3g}, {frame.x.max():.3g}], "
                      f"y in [{frame.y.min():.3g}, {frame.y.max():.3g}])", highlight=False)


# -- index and neighbours ---------------------------------------------------------------------
def index(
    embedding: Annotated[str, typer.Argument(help="Embedding name.")],
    workspace: WorkspaceOpt = Path("."),
    kind: Annotated[str, typer.Option(
        "--index", help="Flat (exact) | IVF | HNSW | a faiss factory string like "
                        "'IVF1024,Flat'.")] = "Flat",
    k: Annotated[int, typer.Option("--k", "-k", min=1, help="k at which recall is "
                                   "measured.")] = 10,
    target_recall: Annotated[float, typer.Option(min=0.01, max=1.0, help="Recall the "
                                                 "automatic search effort aims for.")] = 0.95,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Rebuild even if fresh.")] = False,
) -> None:
    """Build (or reuse) the neighbour index of an embedding and report its recall."""
    from curator.embed import load_embedding
    from curator.index_store import index_dir, workspace_index
    from curator.neighbors import NeighborIndex

    with errors_as_messages():
        ws = open_workspace(workspace)
        emb = load_embedding(ws, embedding)
        nn = workspace_index(ws, emb, NeighborIndex(k, index=kind, target_recall=target_recall),
                             rebuild=rebuild)
        effort = getattr(nn, "effort_", None)
        console.print(
            f"{nn.factory_} index over {nn.n_samples_fit_:,} x {nn.n_features_in_} vectors of "
            f"{embedding!r}: recall@{k} {nn.recall_:.3f}"
            + (f" at search effort {effort}" if effort else "")
            + f"; stored in {index_dir(ws.root, embedding, nn)}", highlight=False)


def neighbors(
    sample_id: Annotated[str, typer.Argument(help="The query sample's id.")],
    embedding: EmbeddingOpt,
    workspace: WorkspaceOpt = Path("."),
    k: Annotated[int, typer.Option("--k", "-k", min=1, help="Neighbours per source.")] = 5,
) -> None:
    """The nearest real and synthetic samples to one sample, with distances."""
    from curator.explore import nearest_by_source

    with errors_as_messages():
        ws = open_workspace(workspace)
        found = nearest_by_source(ws, embedding, sample_id, k=k)
        for source, part in found.groupby("source", sort=True):
            console.rule(f"nearest {source}")
            console.print(part.drop(columns="source").to_string(index=False),
                          highlight=False)


# -- models -----------------------------------------------------------------------------------
models_app = typer.Typer(help="Pretrained models the `cnn` embedder runs (exported once to ONNX "
                              "from installed packages, cached; nothing is downloaded).",
                         no_args_is_help=True)


@models_app.command("export")
def models_export(
    model: Annotated[str, typer.Option(help="Model name.")] = "efficientnet_lite0",
    image_size: Annotated[int, typer.Option(min=32, max=1024, help="Input side in pixels.")
                          ] = 224,
    force: Annotated[bool, typer.Option("--force", help="Export again even if cached.")
                     ] = False,
) -> None:
    """Export the cnn embedder's model to ONNX now (first use does it otherwise).

    The file lands in $CURATOR_CACHE_DIR (else ~/.cache/curator)/models/; copy it to a
    machine without torch and only the `embed` extra is needed there.
    """
    with errors_as_messages():
        from curator.embed.cnn import export_model_cli

        console.print(export_model_cli(model=model, image_size=image_size, force=force),
                      highlight=False)
