"""Image folders with one subfolder per class (``root/<label>/.../*.png``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from curator.images import DEFAULT_MAX_PIXELS, decode_file
from curator.ingest.engine import Draft, Loaded, Reject
from curator.ingest.source import Source, label_from_relpath, require_dir, walk_files


def read_folder(root: Path, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Source:
    """Every file under ``root`` is a candidate; its first folder is its label.

    Files directly in ``root`` get no label; files that do not decode are rejected
    (``not_an_image``, ``corrupt_image``), as are symlinks that lead out of ``root``.
    """
    root = require_dir(Path(root), "image folder")

    def items() -> Iterator[Draft | Reject]:
        for entry in walk_files(root):
            if isinstance(entry, Reject):
                yield entry
                continue
            rel, path = entry
            yield Draft(
                origin=rel,
                load=lambda p=path, r=rel: Loaded(decode_file(p, where=r, max_pixels=max_pixels)),
                label=label_from_relpath(rel),
            )

    total = sum(1 for e in walk_files(root) if isinstance(e, tuple))
    return Source("folder", root, items, config={"max_pixels": max_pixels}, total=total)
