"""``curator ingest ...``: real samples from image folders, COCO, tables, masks and the
built-in digits, each a thin shell over :func:`curator.ingest.ingest`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from curator.cli.common import WorkspaceOpt, console, errors_as_messages, progress_bar
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
from curator.store import open_workspace

ingest_app = typer.Typer(
    help="Ingest real samples (image folders, COCO, tables, masks, built-in digits).",
    no_args_is_help=True,
)

SplitOpt = Annotated[
    str | None,
    typer.Option("--split", help="Split for rows without one: a name ('train') or fractions "
                                 "by content hash ('train=0.8,test=0.2')."),
]
BatchOpt = Annotated[int, typer.Option("--batch-rows", min=1,
                                        help="Rows per shard (one atomic write each).")]


def print_ingest_summary(summary: IngestSummary) -> None:
    """The ingest summary line, then the first rejects (if any) and where to see them all."""
    console.print(str(summary), highlight=False)
    if summary.rejects:
        table = Table("item", "reason", "message", title="rejected (first 10)", show_lines=False)
        for r in summary.rejects[:10]:
            table.add_row(r.item, r.reason, r.message)
        console.print(table)
        console.print(f"all rejects: curator rejects -w {summary.workspace}", highlight=False)


def _run_ingest(workspace: Path, make_source: Callable[[], Source], split: str | None,
                batch_rows: int) -> None:
    with errors_as_messages():
        ws = open_workspace(workspace)
        source = make_source()
        with progress_bar(f"ingest {source.fmt}") as progress:
            summary = ingest(ws, source, split=split, batch_rows=batch_rows, progress=progress)
        print_ingest_summary(summary)


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


def register(app: typer.Typer) -> None:
    app.add_typer(ingest_app, name="ingest")
