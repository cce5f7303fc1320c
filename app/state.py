"""The app's shared state: which workspace, opened once, and a content key for caches.

Pages call :func:`page` to get the workspace (or a clear message instead of a traceback)
and key ``st.cache_data`` results on :func:`content_key`, which changes whenever a shard,
an embedding, a subset or a manifest is written. (Pass it as a parameter whose name does
not start with ``_``: Streamlit leaves those out of the cache key.)
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import streamlit as st

from curator.errors import CuratorError
from curator.store import Workspace, open_workspace

ENV = "CURATOR_WORKSPACE"
#: Folders whose listing (names, sizes, times) keys the caches.
WATCHED = ("samples", "rejects", "embeddings", "subsets", "manifests", "experiments",
           "reports")


def workspace_root() -> Path | None:
    """The workspace this app serves: ``CURATOR_WORKSPACE`` (set by ``curator app WS``)."""
    root = os.environ.get(ENV)
    return Path(root).expanduser().resolve() if root else None


def content_key(root: Path) -> str:
    """Changes whenever a file under the watched folders changes (stat only, no reads)."""
    h = hashlib.sha256()
    for name in WATCHED:
        folder = root / name
        if not folder.is_dir():
            continue
        for p in sorted(folder.rglob("*")):
            if p.is_file() and not p.name.startswith(".tmp-"):
                st_ = p.stat()
                h.update(f"{p.relative_to(root)}:{st_.st_size}:{st_.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


@st.cache_resource(show_spinner=False)
def _open(root: str) -> Workspace:
    return open_workspace(root)


def workspace(*, need_samples: bool = True) -> Workspace:
    """The open workspace, or a message in the page and a stop (never a traceback)."""
    root = workspace_root()
    if root is None:
        st.error(f"No workspace chosen. Start the app with `curator app WORKSPACE` (or set "
                 f"{ENV}).")
        st.stop()
    try:
        ws = _open(str(root))
    except CuratorError as exc:
        st.error(f"Cannot open the workspace: {exc}")
        st.stop()
    if need_samples and not ws.samples.shards():
        st.info(f"The workspace {root} has no samples yet: ingest some with "
                "`curator ingest` or build the demo with `make demo`.")
        st.stop()
    return ws


def guarded(body: Callable[[Workspace], None], *, need_samples: bool = True) -> None:
    """Run a page body; bad input (unreadable shard, unknown column) shows as an error."""
    ws = workspace(need_samples=need_samples)
    try:
        body(ws)
    except (CuratorError, OSError, pa.ArrowException, ValueError, KeyError) as exc:
        st.error(f"{type(exc).__name__}: {exc}")


def key(ws: Workspace) -> str:
    return content_key(ws.root)


def choose_embedding(ws: Workspace, widget_key: str, container=None) -> str | None:
    """An embedding picker ("pixels" first when present); None, with a hint, when the
    workspace has no embedding yet."""
    from curator.embed import list_embeddings

    names = list_embeddings(ws)
    if not names:
        st.info("No embeddings yet: `curator embed pixels -w WS` makes one.")
        return None
    where = container if container is not None else st
    return where.selectbox("embedding", names, key=widget_key,
                           index=names.index("pixels") if "pixels" in names else 0)
