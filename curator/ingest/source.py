"""What a format reader hands the engine, and the file walk the folder formats share."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from curator.errors import IngestError
from curator.ingest.engine import Draft, Reject


@dataclass
class Source:
    """A readable input: its items, their count if known, and the settings that define it."""

    fmt: str
    path: Path
    items: Callable[[], Iterable[Draft | Reject]]
    config: dict[str, Any]
    total: int | None = None
    attribute_types: dict[str, pa.DataType] = field(default_factory=dict)
    default_split: str = "unassigned"


def require_dir(path: Path, what: str) -> Path:
    if not path.exists():
        raise IngestError(f"{what} {path} does not exist")
    if not path.is_dir():
        raise IngestError(f"{what} {path} is not a directory")
    return path


def require_file(path: Path, what: str) -> Path:
    if not path.exists():
        raise IngestError(f"{what} {path} does not exist")
    if not path.is_file():
        raise IngestError(f"{what} {path} is not a file")
    return path


def walk_files(root: Path) -> Iterator[tuple[str, Path] | Reject]:
    """Yield ``(relative posix path, path)`` for each visible file under ``root``, sorted.

    Hidden files and folders (``.name``) are skipped. A symlink (file or folder) that leads
    outside ``root`` is yielded as a :class:`Reject`; symlinked folders are never descended,
    so a walk cannot loop or leave the tree.
    """
    root_resolved = root.resolve()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        base = Path(dirpath)
        for name in list(dirnames):
            if name.startswith("."):
                dirnames.remove(name)
                continue
            sub = base / name
            if sub.is_symlink():
                dirnames.remove(name)
                rel = sub.relative_to(root).as_posix()
                if not sub.resolve().is_relative_to(root_resolved):
                    yield Reject(rel, "path_escape",
                                 f"{rel}: symlinked folder leads outside {root} to "
                                 f"{sub.resolve()}; not followed")
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = base / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink() and not path.resolve().is_relative_to(root_resolved):
                yield Reject(rel, "path_escape",
                             f"{rel}: symlink leads outside {root} to {path.resolve()}")
                continue
            yield rel, path


def label_from_relpath(rel: str) -> str | None:
    """Class label of a file in a one-subfolder-per-class tree (None at the top level)."""
    parts = rel.split("/")
    return parts[0] if len(parts) > 1 else None
