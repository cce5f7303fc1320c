"""Path safety: user-supplied paths must stay inside the folder they belong to.

Every path read from user data (a CSV cell, a COCO ``file_name``, a folder walk) goes through
:func:`resolve_inside`, which rejects absolute paths, ``..`` escapes and symlinks that lead out.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath, PureWindowsPath

from curator.errors import PathEscapeError


def resolve_inside(root: Path, relative: str | os.PathLike[str], *, what: str = "path") -> Path:
    """Return ``root / relative`` resolved, or raise :class:`PathEscapeError`.

    Absolute paths (POSIX or Windows style) are refused outright, and so is any path whose
    resolved location (symlinks followed) is not inside ``root``.
    """
    text = os.fspath(relative)
    if not text or not text.strip():
        raise PathEscapeError(f"{what} is empty")
    if PurePosixPath(text).is_absolute() or PureWindowsPath(text).is_absolute() or (
        PureWindowsPath(text).drive
    ):
        raise PathEscapeError(
            f"{what} {text!r} is absolute; paths must be relative to {root}"
        )
    root_resolved = root.resolve()
    target = (root_resolved / text).resolve()
    if not target.is_relative_to(root_resolved):
        raise PathEscapeError(
            f"{what} {text!r} resolves to {target}, outside {root_resolved} "
            "('..' or a symlink leads out); move the file inside the source folder"
        )
    return target


def is_inside(root: Path, path: Path) -> bool:
    """True if ``path`` (symlinks followed) lies inside ``root``."""
    return path.resolve().is_relative_to(root.resolve())
