"""Overview: counts by source, label and split, storage, the last runs, report warnings."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from app.state import guarded, key
from curator.store import Workspace


@st.cache_data(show_spinner=False)
def _info(root: str, content: str) -> tuple[dict, pd.DataFrame]:
    from curator.store import open_workspace

    info = open_workspace(root).info()
    return ({"samples": info.n_samples, "rejects": info.n_rejects, "shards": info.n_shards,
             "bytes": info.bytes_on_disk}, info.counts)


def _runs(ws: Workspace) -> pd.DataFrame:
    rows = []
    for folder, kind in (("experiments", "experiment"), ("subsets", "subset"),
                         ("manifests", "manifest"), ("reports", "report")):
        root = ws.root / folder
        if not root.is_dir():
            continue
        for p in root.iterdir():
            if p.name.startswith("."):
                continue
            when = dt.datetime.fromtimestamp(p.stat().st_mtime, dt.timezone.utc)
            rows.append({"kind": kind, "name": p.name, "written": when.strftime(
                "%Y-%m-%d %H:%M UTC")})
    frame = pd.DataFrame(rows, columns=["kind", "name", "written"])
    return frame.sort_values("written", ascending=False).head(15)


def body(ws: Workspace) -> None:
    from reports.document import saved_findings

    st.title(f"Overview: {ws.root.name}")
    facts, counts = _info(str(ws.root), key(ws))
    cols = st.columns(4)
    cols[0].metric("samples", f"{facts['samples']:,}")
    cols[1].metric("rejects", f"{facts['rejects']:,}")
    cols[2].metric("shards", f"{facts['shards']:,}")
    cols[3].metric("storage", f"{facts['bytes'] / 2**20:,.1f} MiB")
    st.subheader("Samples by source, label and split")
    by_source = counts.groupby(["source", "split"], dropna=False)["count"].sum().unstack(
        fill_value=0)
    st.dataframe(by_source, width="stretch")
    with st.expander("by label"):
        st.dataframe(counts.pivot_table(index="label", columns="source", values="count",
                                        aggfunc="sum", fill_value=0), width="stretch")
    st.subheader("Last runs")
    runs = _runs(ws)
    if runs.empty:
        st.caption("No experiments, subsets, manifests or reports yet.")
    else:
        st.dataframe(runs, hide_index=True, width="stretch")
    st.subheader("Warnings from the report")
    report = ws.root / "reports" / "report.json"
    if not report.is_file():
        st.caption(f"No report yet: `curator report {ws.root}` writes one.")
        return
    for f in saved_findings(report):
        (st.error if f["severity"] == "alert" else st.warning)(
            f"{f['section']}: {f['message']}")


guarded(body)
