"""The one exception family of curator.

Every error a user can cause derives from :class:`CuratorError`; messages say what went
wrong, where (file, row, column) and how to fix it.
"""

from __future__ import annotations


class CuratorError(Exception):
    """Base class for every error curator raises on bad input or state.

    ``reason`` is a short machine-readable code (used in the rejects table).
    """

    reason = "invalid"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason


class WorkspaceError(CuratorError):
    """A workspace is missing, not a workspace, locked, or damaged."""


class SchemaError(CuratorError):
    """A table does not match the workspace schema (missing column, wrong type, bad value)."""


class PathEscapeError(CuratorError):
    """A user-supplied path points outside the folder it must stay in."""

    reason = "path_escape"


class ImageError(CuratorError):
    """An image file is missing, corrupt, truncated, too large, or not an image."""

    reason = "corrupt_image"


class IngestError(CuratorError):
    """A source cannot be ingested at all (as opposed to a single rejected item)."""
