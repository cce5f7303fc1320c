"""Reports: the balance, bias, label-quality, gap, coverage, duplicates and experiment
sections, run on demand and shown with their findings, tables and figures."""

from __future__ import annotations

import streamlit as st

from app.state import choose_embedding, guarded, key
from curator.store import Workspace

SEVERITY = {"alert": st.error, "warning": st.warning, "info": st.info}


@st.cache_resource(show_spinner="running the report sections ...", max_entries=8)
def _report(root: str, content: str, sections: tuple[str, ...], embedding: str | None,
            max_samples: int):
    from curator.store import open_workspace
    from reports.build import ReportConfig, build_report

    return build_report(open_workspace(root), ReportConfig(
        sections=sections, embedding=embedding, max_samples=max_samples))


def body(ws: Workspace) -> None:
    from reports.build import SECTIONS

    st.title("Reports")
    c1, c2, c3 = st.columns([3, 1, 1])
    sections = c1.multiselect("sections", list(SECTIONS), default=["balance", "gap"],
                              key="r_sections")
    embedding = choose_embedding(ws, "r_embedding", c2)
    max_samples = c3.number_input("max samples per side", 500, 200_000, 5_000, step=500,
                                  key="r_max")
    saved = ws.root / "reports" / "report.html"
    if saved.is_file():
        st.caption(f"The full saved report: {saved}")
    if not sections:
        st.info("Pick at least one section.")
        return
    doc = _report(str(ws.root), key(ws), tuple(s for s in SECTIONS if s in sections),
                  embedding, int(max_samples))
    for section in doc.sections:
        st.header(section.title)
        st.caption(section.intro)
        if section.skipped:
            st.info(f"Not run: {section.skipped}")
        for result in section.results:
            st.subheader(result.title)
            for finding in result.findings:
                SEVERITY.get(finding.severity, st.info)(finding.message)
            if result.summary:
                st.json(result.summary, expanded=False)
            for fig in result.figures():
                st.pyplot(fig, clear_figure=True)
            for name, table in result.tables.items():
                with st.expander(f"{name} ({len(table):,} rows)"):
                    st.dataframe(table, hide_index=True, width="stretch")
            for note in result.notes:
                st.caption(note)


guarded(body)
