"""Atomic file writes and the advisory lock: the file-level guarantees every writer builds on.

A write goes to a ``.tmp-*`` file and is renamed into place (never a half-written target);
``file_lock`` serialises writers of one folder across processes.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from curator.errors import WorkspaceError

TMP_PREFIX = ".tmp-"


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes, *, staging: Path | None = None) -> None:
    """Write ``data`` to ``path`` via a temp file and a rename.

    The temp file lives in ``staging`` (default: the target's folder), which must be on the
    same filesystem; a writer killed mid-way leaves only a ``.tmp-*`` file there.
    """
    tmp = (staging or path.parent) / f"{TMP_PREFIX}{uuid.uuid4().hex}-{path.name}"
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    fsync_dir(path.parent)


def remove_stale_temp_files(directory: Path) -> int:
    """Delete leftovers of interrupted writes in ``directory``; call only under the write lock."""
    stale = list(directory.glob(f"{TMP_PREFIX}*"))
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)



@contextlib.contextmanager
def file_lock(lock_path: Path, *, timeout_s: float = 600.0, what: str = "") -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``lock_path``; waits up to ``timeout_s`` for it."""
    with open(lock_path, "a+") as fh:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() > deadline:
                    raise WorkspaceError(
                        f"another process has been writing to {what or lock_path.parent} for "
                        f"over {timeout_s:.0f}s; wait for it or remove {lock_path} if it died"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def atomic_write_json(path: Path, data: Any, *, indent: int | None = 2,
                      sort_keys: bool = True) -> None:
    """Write JSON-able ``data`` (keys sorted, a final newline) atomically to ``path``."""
    atomic_write_bytes(path, (json.dumps(data, indent=indent, sort_keys=sort_keys) + "\n")
                       .encode())
