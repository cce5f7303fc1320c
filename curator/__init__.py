"""curator: a workbench for curating ML training data that mixes real and synthetic samples."""

from __future__ import annotations

__version__ = "0.1.0"

from curator.errors import CuratorError  # noqa: E402
from curator.store import Workspace, init_workspace, open_workspace  # noqa: E402

__all__ = ["CuratorError", "Workspace", "__version__", "init_workspace", "open_workspace"]
