"""Curate ratios: real:synthetic ratio and size per stratum; the achieved mix, predicted
synthetic distance and coverage update from cached statistics; save as subset + manifest."""

from __future__ import annotations

import streamlit as st

from app.state import choose_embedding, guarded, key
from curator.store import Workspace

MAX_SLIDERS = 40


@st.cache_resource(show_spinner="searching neighbours once per stratum ...", max_entries=8)
def _inputs(root: str, content: str, embedding: str, by: str):
    from curator.ratio_plan import mix_statistics
    from curator.store import open_workspace
    from curator.workflows.ratio import workspace_mix_inputs

    inputs = workspace_mix_inputs(open_workspace(root), embedding, by=by)
    return inputs, mix_statistics(inputs.X, inputs.strata, inputs.is_real,
                                  inputs.is_synthetic)


def body(ws: Workspace) -> None:
    from curator.ratio_plan import plan_mix
    from curator.workflows.ratio import save_mix

    st.title("Curate ratios")
    c1, c2 = st.columns(2)
    embedding = choose_embedding(ws, "c_embedding", c1)
    if embedding is None:
        return
    by = c2.text_input("strata (--by)", value="label", key="c_by",
                       help="label and binned attributes, e.g. label,pose_yaw_deg:3")
    inputs, stats = _inputs(str(ws.root), key(ws), embedding, by)
    g1, g2 = st.columns(2)
    ratio_all = g1.slider("synthetic per real, every stratum", 0.0, 8.0, 1.0, 0.25,
                          key="c_ratio_all")
    size_all = int(g2.number_input("samples per stratum (0: all real + ratio)", 0, 10**7, 0,
                                   key="c_size_all"))
    ratios: dict[str, float] = {"*": ratio_all}
    sizes: dict[str, int | None] = {"*": size_all or None}  # strata past the sliders too
    strata = list(stats)
    with st.expander(f"per stratum ({len(strata)})", expanded=len(strata) <= 12):
        if len(strata) > MAX_SLIDERS:
            st.caption(f"{len(strata)} strata: per-stratum sliders for the first "
                       f"{MAX_SLIDERS}; use fewer bins for the rest")
        for s in strata[:MAX_SLIDERS]:
            a, b = st.columns([3, 1])
            # Keyed on the global values: moving those resets every stratum to them.
            ratios[s] = a.slider(f"{s}: synthetic per real", 0.0, 8.0, ratio_all, 0.25,
                                 key=f"c_ratio_{s}_{ratio_all}")
            size = int(b.number_input(f"{s}: size", 0, 10**7, size_all,
                                      key=f"c_size_{s}_{size_all}"))
            sizes[s] = size or None
    plan = plan_mix(stats, ratios, n_total=sizes)
    total = plan.iloc[-1]
    m = st.columns(5)
    m[0].metric("real", f"{int(total['real']):,}")
    m[1].metric("synthetic", f"{int(total['synthetic']):,}")
    m[2].metric("synthetic per real", f"{total['achieved_ratio']:.2f}")
    m[3].metric("predicted coverage", f"{total['coverage']:.1%}")
    m[4].metric("synthetic distance", f"{total['synthetic_distance']:.3g}")
    short = plan.iloc[:-1][~plan.iloc[:-1]["feasible"].astype(bool)]
    if len(short):
        st.warning(f"{len(short)} stratum(s) cannot get what was asked: "
                   + "; ".join(f"{r.stratum}: {r.note}" for r in short.head(3).itertuples())
                   + (" ..." if len(short) > 3 else ""))
        with st.expander("why, per stratum"):
            st.dataframe(short[["stratum", "requested_real", "requested_synthetic", "real",
                                "synthetic", "note"]], hide_index=True, width="stretch")
    st.dataframe(plan, hide_index=True, width="stretch")
    name = st.text_input("save as", key="c_name", placeholder="e.g. mix-1to2")
    if st.button("save subset and manifest", key="c_save", disabled=not name):
        path, manifest = save_mix(ws, name, inputs, ratios, n_total=sizes)
        st.success(f"saved subset {path} and manifest {manifest.path} "
                   f"({len(manifest.frame):,} samples, hash {manifest.hash})")


guarded(body)
