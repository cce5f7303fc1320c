"""Gallery: paged thumbnails with filters; a sample's labels, attributes and lineage."""

from __future__ import annotations

import json

import streamlit as st

from app.state import guarded, key
from curator.store import Workspace

PER_PAGE = 24
COLUMNS = 6


@st.cache_data(show_spinner=False)
def _values(root: str, content: str, column: str) -> list[str]:
    from curator.store import open_workspace

    values = open_workspace(root).to_pandas([column])[column].dropna().astype(str)
    return sorted(values.unique().tolist())


def _filters(ws: Workspace) -> list[tuple]:
    from curator.query import parse_where

    filters: list[tuple] = []
    cols = st.columns(3)
    for col, name in zip(cols, ("source", "label", "split"), strict=True):
        chosen = col.multiselect(name, _values(str(ws.root), key(ws), name), key=f"g_{name}")
        if chosen:
            filters.append((name, "in", chosen))
    where = st.text_input("attribute filter", key="g_where",
                          placeholder="e.g. pose_yaw_deg >= 30  (one condition; any column)")
    if where.strip():
        filters.append(parse_where(where))
    return filters


def _detail(ws: Workspace, sample_id: str) -> None:
    from curator.explore import sample_detail

    d = sample_detail(ws, sample_id)
    st.subheader(f"Sample {sample_id}")
    left, right = st.columns([2, 3])
    with left:
        if d.image is not None:
            st.image(d.image, caption="image", width=256)
        overlay = d.boxes_overlay()
        if overlay is not None:
            st.image(overlay, caption="boxes", width=256)
        for name, pixels in d.plane_images().items():
            st.image(pixels, caption=name, width=256)
    with right:
        st.markdown("**labels**")
        st.json(d.core)
        if not d.objects.empty:
            st.dataframe(d.objects, hide_index=True)
        st.markdown("**lineage**")
        st.json(json.loads(json.dumps(d.lineage, default=str)))
        st.markdown("**attributes**")
        st.json(json.loads(json.dumps(d.attributes, default=str)), expanded=False)


@st.cache_data(show_spinner=False, max_entries=64)
def _page(root: str, content: str, filters: tuple, page: int):
    """One page of ids (the id listing is read once per filter and workspace state)."""
    from curator.explore import sample_page
    from curator.store import open_workspace

    return sample_page(open_workspace(root), filters=list(filters) or None, page=page,
                       per_page=PER_PAGE)


def body(ws: Workspace) -> None:
    from curator.explore import thumbnails

    st.title("Gallery")
    filters = _filters(ws)
    page_no = st.number_input("page", min_value=1, value=1, step=1, key="g_page") - 1
    frozen = tuple((c, op, tuple(v) if isinstance(v, list) else v) for c, op, v in filters)
    page = _page(str(ws.root), key(ws), frozen, int(page_no))
    st.caption(f"{page.total:,} sample(s) match; page {page.page + 1} of {page.pages}")
    if page.rows.empty:
        return
    thumbs = thumbnails(ws, page.rows["sample_id"].tolist())
    grid = st.columns(COLUMNS)
    for i, row in enumerate(page.rows.itertuples()):
        with grid[i % COLUMNS]:
            caption = f"{row.label} · {row.source}"
            if row.sample_id in thumbs:
                st.image(thumbs[row.sample_id], caption=caption, width="stretch")
            else:
                st.caption(f"(no image) {caption}")
    chosen = st.selectbox("sample detail", page.rows["sample_id"].tolist(), key="g_sample")
    if chosen:
        _detail(ws, chosen)


guarded(body)
