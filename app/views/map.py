"""Map: the 2-D embedding map coloured by source, label or an attribute; a box selection
becomes a named subset."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from app.state import choose_embedding, guarded, key
from curator.store import Workspace

MAX_POINTS = 20_000
#: Real and synthetic in colours no one confuses (and distinct shapes at any colouring).
SOURCE_COLOURS = alt.Scale(domain=["real", "synthetic", "augmented", "oversampled"],
                           range=["#1f4e9c", "#f28e2b", "#8c6bb1", "#59a14f"])


@st.cache_data(show_spinner="projecting the embedding to 2-D ...")
def _map(root: str, content: str, embedding: str, colour: str) -> pd.DataFrame:
    from curator.embed.map2d import embedding_map
    from curator.store import open_workspace

    ws = open_workspace(root)
    xy = embedding_map(ws, embedding)
    cols = list(dict.fromkeys(["sample_id", "source", "label", colour]))
    rows = ws.to_pandas(cols).drop_duplicates("sample_id")
    frame = xy.merge(rows, on="sample_id", how="left")
    if len(frame) > MAX_POINTS:  # a seeded sample: the browser draws at most this many
        frame = frame.sample(MAX_POINTS, random_state=0).sort_index()
    return frame


def body(ws: Workspace) -> None:
    from curator.explore import map_box
    from curator.subsets import rows_for, save_subset

    st.title("Map")
    c1, c2 = st.columns(2)
    embedding = choose_embedding(ws, "m_embedding", c1)
    if embedding is None:
        return
    colour = c2.selectbox("colour by", ["source", "label", *sorted(ws.scalar_columns())],
                          key="m_colour")
    frame = _map(str(ws.root), key(ws), embedding, colour)
    st.caption(f"{len(frame):,} points" + (f" (a seeded sample of at most {MAX_POINTS:,})"
                                            if len(frame) == MAX_POINTS else "")
               + "; drag a box to select")
    brush = alt.selection_interval(name="box", encodings=["x", "y"])
    numeric = pd.api.types.is_numeric_dtype(frame[colour])
    chart = (alt.Chart(frame).mark_point(filled=True, size=18, opacity=0.7).encode(
        x=alt.X("x:Q", title=None), y=alt.Y("y:Q", title=None),
        color=alt.Color(f"{colour}:{'Q' if numeric else 'N'}", scale=SOURCE_COLOURS
                        if colour == "source" else alt.Undefined),
        shape=alt.Shape("source:N"),  # real and synthetic stay distinct at any colouring
        tooltip=["sample_id", "source", "label", colour]).add_params(brush))
    event = st.altair_chart(chart, on_select="rerun", key="m_chart", width="stretch")
    box = (event.selection.get("box") or {}) if event else {}
    if not (box.get("x") and box.get("y")):
        st.write("selected: 0 sample(s)")
        return
    sel = map_box(ws, embedding, tuple(box["x"]), tuple(box["y"]))  # the whole map
    st.write(f"selected: {len(sel):,} sample(s)")
    if len(sel):
        rows = rows_for(ws, sel.ids, ["source", "label"])
        st.dataframe(rows.groupby(["source", "label"]).size().rename("count").reset_index(),
                     hide_index=True)
    name = st.text_input("save the selection as subset", key="m_name",
                         placeholder="e.g. map-cluster-1")
    if st.button("save subset", key="m_save", disabled=not len(sel) or not name):
        st.success(f"saved {len(sel):,} sample(s): {save_subset(ws, name, sel)}")


guarded(body)
