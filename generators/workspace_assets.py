"""The workspace's own asset catalog: user meshes copied into ``assets/`` beside the samples.

Generation uses the built-in catalog plus these; mesh paths are stored relative to the
workspace, so a workspace moves as one folder.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from generators.assets import MESH_SUFFIXES, AssetCatalog, AssetError

CATALOG_FILE = "assets/catalog.json"
MESH_DIR = "assets/meshes"


def user_catalog(ws: Any) -> AssetCatalog:
    """The assets registered in workspace ``ws`` (empty if none)."""
    path = Path(ws.root) / CATALOG_FILE
    return AssetCatalog.from_json(path) if path.is_file() else AssetCatalog([])


def load_catalog(ws: Any) -> AssetCatalog:
    """Built-in assets followed by the workspace's own."""
    return AssetCatalog([*AssetCatalog.builtin(), *user_catalog(ws)])


def register_mesh(ws: Any, source: str | os.PathLike[str], *, label: str,
                  tags: Iterable[str] = (), asset_id: str | None = None,
                  size_range_m: tuple[float, float] = (0.5, 1.0),
                  rotate_deg: Sequence[float] | None = None) -> AssetCatalog:
    """Copy a mesh file into the workspace and add it to the workspace catalog."""
    src = Path(source)
    if not src.is_file():
        raise AssetError(f"mesh file {str(source)!r} does not exist")
    if src.suffix.lower() not in MESH_SUFFIXES:
        raise AssetError(f"mesh file {str(source)!r} has suffix {src.suffix!r}; supported: "
                         f"{', '.join(MESH_SUFFIXES)}")
    root = Path(ws.root)
    dest = root / MESH_DIR / src.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    with ws.write_lock():
        current = user_catalog(ws)
        if dest.exists() and dest.read_bytes() != src.read_bytes():
            raise AssetError(f"a different mesh named {src.name!r} is already registered in "
                             f"{dest.parent}; rename the file")
        new_id = asset_id or f"mesh_{src.stem.lower()}"
        if new_id in current or new_id in AssetCatalog.builtin():
            raise AssetError(f"asset id {new_id!r} is already in the catalog; pass another "
                             "--id")
        tmp = dest.with_name(f".tmp-{dest.name}")
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
        catalog = current.register_mesh(dest.relative_to(root), label=label, tags=tags,
                                        asset_id=new_id, size_range_m=size_range_m,
                                        root=root, rotate_deg=rotate_deg)
        catalog.to_json(root / CATALOG_FILE)
    return catalog
