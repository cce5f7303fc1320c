"""Workspace commands: ``init``, ``info``, ``show``, ``rejects`` and ``doctor`` (create a
workspace, look at its rows and counts, check its files).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pyarrow as pa
import typer
from rich.table import Table

from curator.cli.common import WorkspaceOpt, console, errors_as_messages
from curator.errors import CuratorError
from curator.store import Workspace, init_workspace, open_workspace


def init(path: Annotated[Path, typer.Argument(help="Directory to create (empty or new).")]
         ) -> None:
    """Create an empty workspace: sharded Parquet tables under PATH."""
    with errors_as_messages():
        ws = init_workspace(path)
    console.print(f"created workspace {ws.root}", highlight=False)


def print_info(ws: Workspace) -> None:
    """Counts by source, split and label, shards, rejects and size on disk."""
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


def info(workspace: Annotated[Path, typer.Argument(envvar="CURATOR_WORKSPACE",
                                                   help="Workspace directory.")] = Path(".")
         ) -> None:
    """Counts by source, split and label; shards, rejects and size on disk."""
    with errors_as_messages():
        print_info(open_workspace(workspace))


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

    with errors_as_messages():
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


def rejects(workspace: WorkspaceOpt = Path("."),
            limit: Annotated[int, typer.Option(min=1, help="Rows to print.")] = 50) -> None:
    """List rejected input items with the reason each was refused."""
    with errors_as_messages():
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

    with errors_as_messages():
        report = check_workspace(open_workspace(workspace), repair=repair, deep=deep)
    console.print(str(report), highlight=False, markup=False)
    if not report.healthy and not report.quarantined:
        raise typer.Exit(1)
