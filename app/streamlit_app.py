"""curator app: explore the data and curate real:synthetic ratios in the browser.

Start it with ``curator app WORKSPACE`` (binds to 127.0.0.1 unless ``--expose``).
"""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="curator", layout="wide")

PAGES = [
    st.Page("views/overview.py", title="Overview", default=True),
    st.Page("views/gallery.py", title="Gallery"),
    st.Page("views/map.py", title="Map"),
    st.Page("views/neighbours.py", title="Neighbours"),
    st.Page("views/report_view.py", title="Reports"),
    st.Page("views/curate.py", title="Curate ratios"),
    st.Page("views/export.py", title="Export"),
]
st.navigation(PAGES).run()
