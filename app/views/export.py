"""Export: a saved subset frozen as a manifest and exported for training (Parquet, JSON
lines, a folder per class, COCO, Hugging Face datasets), verified after writing."""

from __future__ import annotations

import streamlit as st

from app.state import guarded
from curator.store import Workspace

FORMAT_NAMES = {"parquet": "Parquet manifest + images", "jsonl": "JSON lines manifest + images",
                "folder": "a folder per class", "coco": "COCO (boxes, RLE masks)",
                "hf": "Hugging Face datasets folder"}


def body(ws: Workspace) -> None:
    from curator.errors import CuratorError
    from curator.export import FORMATS, export_manifest
    from curator.manifest import list_manifests, manifest_from_subset
    from curator.paths import resolve_inside
    from curator.subsets import list_subsets, load_subset

    st.title("Export")
    names = list_subsets(ws)
    if not names:
        st.info("No saved subsets yet: save one on the Map or Curate ratios page, or with "
                "`curator select`.")
        return
    name = st.selectbox("subset", names, key="e_subset")
    subset = load_subset(ws, name)
    st.caption(f"{len(subset.ids):,} samples, made by {subset.meta.get('method', '?')}")
    fmt = st.radio("format", list(FORMATS), format_func=FORMAT_NAMES.get, horizontal=True,
                   key="e_format")
    # Keyed on subset and format, so the suggested folder follows them.
    folder = st.text_input("folder under exports/", value=f"{name}-{fmt}",
                           key=f"e_folder_{name}_{fmt}")
    force = st.checkbox("replace it if it exists", key="e_force")
    if st.button("export", key="e_go"):
        exports = ws.root / "exports"
        out = resolve_inside(exports, folder, what="export folder")
        if out == exports.resolve():
            raise CuratorError("name a folder inside exports/, not exports/ itself")
        manifest = manifest_from_subset(ws, name)
        with st.spinner(f"exporting {len(subset.ids):,} samples as {fmt} ..."):
            summary = export_manifest(ws, manifest, out, fmt, force=force)
        st.success(f"{summary} (manifest {manifest.path.name})")
        st.download_button("download the manifest (Parquet)", manifest.path.read_bytes(),
                           manifest.path.name, key="e_dl")
    saved = list_manifests(ws)
    if saved:
        st.subheader("Manifests in this workspace")
        st.dataframe({"manifest": [p.name for p in saved]}, hide_index=True)


guarded(body)
