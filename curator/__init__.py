"""curator: a workbench for curating ML training data that mixes real and synthetic samples."""

from __future__ import annotations

from curator.errors import CuratorError
from curator.store import Workspace, init_workspace, open_workspace
from curator.version import __version__

__all__ = ["CuratorError", "Workspace", "__version__", "init_workspace", "open_workspace"]
