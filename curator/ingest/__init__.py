"""Real-data ingest: format readers feeding one engine.

``read_folder``, ``read_coco``, ``read_table``, ``read_masks`` and ``read_digits`` each
return a :class:`Source`; :func:`ingest` runs it into a workspace and returns a summary.
"""

from __future__ import annotations

from collections.abc import Callable

from curator.ingest.coco import read_coco
from curator.ingest.digits import read_digits
from curator.ingest.engine import (
    DEFAULT_BATCH_ROWS,
    DEFAULT_INLINE_MAX_BYTES,
    Draft,
    IngestSummary,
    Loaded,
    Reject,
    run_ingest,
)
from curator.ingest.folder import read_folder
from curator.ingest.masks import read_masks
from curator.ingest.source import Source
from curator.ingest.table import read_table
from curator.splits import SplitSpec
from curator.store import Workspace


def ingest(
    ws: Workspace,
    source: Source,
    *,
    split: str | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    inline_max_bytes: int = DEFAULT_INLINE_MAX_BYTES,
    progress: Callable[[int, int | None], None] | None = None,
) -> IngestSummary:
    """Ingest ``source`` into ``ws``; re-running it is a no-op, an interrupted run resumes.

    ``split`` is a split name or fractions (``"train=0.8,test=0.2"``) for rows whose source
    gives none; it defaults to the source's own default (``unassigned`` for most).
    """
    spec = SplitSpec.parse(split if split is not None else source.default_split)
    return run_ingest(
        ws, source.items(), fmt=source.fmt, source_path=source.path, config=source.config,
        split=spec, total=source.total, batch_rows=batch_rows, inline_max_bytes=inline_max_bytes,
        attribute_types=source.attribute_types, progress=progress,
    )


__all__ = [
    "Draft", "IngestSummary", "Loaded", "Reject", "Source", "ingest", "read_coco", "read_digits",
    "read_folder", "read_masks", "read_table",
]
