"""Neighbours: the nearest real and synthetic samples to a sample, or to typed attribute
targets ("yaw 45 deg, 3200 K"), with distances."""

from __future__ import annotations

import streamlit as st

from app.state import choose_embedding, guarded
from curator.store import Workspace


def _strip(ws: Workspace, frame, caption_col: str = "distance") -> None:
    from curator.explore import thumbnails

    thumbs = thumbnails(ws, frame["sample_id"].tolist())
    cols = st.columns(max(1, min(8, len(frame))))
    for i, row in enumerate(frame.itertuples()):
        if row.sample_id in thumbs:
            cols[i % len(cols)].image(thumbs[row.sample_id], width="stretch",
                                      caption=f"{row.label} · {getattr(row, caption_col):.3g}")


def body(ws: Workspace) -> None:
    from curator.explore import nearest_by_source, nearest_to_attributes
    from curator.subsets import rows_for

    st.title("Neighbours")
    mode = st.radio("find samples near", ["a sample", "attribute targets"], horizontal=True,
                    key="n_mode")
    k = st.slider("per source / per target", 1, 20, 5, key="n_k")
    if mode == "a sample":
        embedding = choose_embedding(ws, "n_embedding")
        if embedding is None:
            return
        from curator.embed.store import EmbeddingStore

        first = min(EmbeddingStore(ws, embedding).done_ids(), default="")
        sample_id = st.text_input("sample id", value=first, key="n_sample").strip()
        found = nearest_by_source(ws, embedding, sample_id, k=k)
        for source, part in found.groupby("source", sort=True):
            st.subheader(f"nearest {source}")
            st.dataframe(part.drop(columns="source"), hide_index=True, width="stretch")
            _strip(ws, part)
    else:
        target = st.text_input("target attributes", key="n_target",
                               value="pose_yaw_deg=45,color_temp_k=3200",
                               help="column=value or column=lo..hi, comma-separated")
        sel = nearest_to_attributes(ws, [target], k=k, steps=1)
        shown = sel.frame.merge(rows_for(ws, sel.ids, ["source", "label"]), on="sample_id")
        for source, part in shown.groupby("source", sort=True):
            st.subheader(f"nearest {source}")
            st.dataframe(part, hide_index=True, width="stretch")
            _strip(ws, part)


guarded(body)
