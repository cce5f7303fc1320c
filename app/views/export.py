"""Export: a saved subset as a manifest (Parquet, or JSON lines) that training loads."""

from __future__ import annotations

import streamlit as st

from app.state import guarded
from curator.store import Workspace


def body(ws: Workspace) -> None:
    from curator.manifest import list_manifests, write_manifest
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
    fmt = st.radio("format", ["Parquet manifest", "JSON lines"], horizontal=True,
                   key="e_format")
    st.caption("Folder-per-class, COCO, Hugging Face and PyTorch exports come with the "
               "export module (issue 9).")
    if st.button("export", key="e_go"):
        manifest = write_manifest(ws, name, subset.ids, config={"subset": name,
                                                                "subset_meta": subset.meta})
        st.success(f"manifest {manifest.path} ({len(manifest.frame):,} samples, hash "
                   f"{manifest.hash})")
        if fmt == "JSON lines":
            data = manifest.frame.to_json(orient="records", lines=True).encode()
            st.download_button("download JSON lines", data, f"{manifest.path.stem}.jsonl",
                               key="e_dl")
        else:
            st.download_button("download Parquet", manifest.path.read_bytes(),
                               manifest.path.name, key="e_dl")
    saved = list_manifests(ws)
    if saved:
        st.subheader("Manifests in this workspace")
        st.dataframe({"manifest": [p.name for p in saved]}, hide_index=True)


guarded(body)
