"""Selection: quotas and no-reuse, k-center coverage, near-duplicates, real:synthetic mixes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from curator import init_workspace
from curator.ingest import ingest, read_digits
from curator.neighbors import NeighborIndex
from curator.select import (
    CoverageSelector,
    DeduplicationSelector,
    MixCounts,
    MixSelector,
    NearestToTargetsSelector,
    Selection,
    SelectionError,
    Selector,
    mix_counts,
    parse_target,
    select_coverage,
    select_deduplicated,
    select_mix,
    select_nearest_to_targets,
    target_points,
)
from curator.strata import StrataError, stratum_keys
from curator.subsets import SubsetError, list_subsets, load_subset, rows_for, save_subset


def blobs(centres, per=50, d=6, seed=0, spread=1.0):
    rng = np.random.default_rng(seed)
    c = np.asarray(centres, np.float64)
    if c.shape[1] < d:
        c = np.c_[c, np.zeros((len(c), d - c.shape[1]))]
    X = np.concatenate([c[i] + spread * rng.standard_normal((per, d)) for i in range(len(c))])
    return X.astype(np.float32)


def brute_dist(A, B):
    return np.sqrt(((A[:, None, :].astype(np.float64) - B[None]) ** 2).sum(-1))


# -- nearest to targets ---------------------------------------------------------------------
def test_far_apart_targets_get_exactly_their_own_k_nearest():
    X = blobs([[0, 0], [100, 0], [0, 100]])
    T = np.array([[0, 0], [100, 0], [0, 100]] + [[0, 0]] * 0, np.float32)
    T = np.c_[T, np.zeros((3, 4))].astype(np.float32)
    sel = select_nearest_to_targets(X, T, k=7)
    D = brute_dist(T, X)
    for t in range(3):
        got = sel.frame[sel.frame.target == str(t)].sample_id.astype(int)
        assert set(got) == set(np.argsort(D[t])[:7])
    assert (sel.summary.selected == 7).all()


def test_competing_targets_never_share_a_candidate_and_quotas_hold():
    X = blobs([[0, 0]], per=60)
    T = X[:5] + 0.01  # five targets in one crowd, all wanting the same neighbours
    sel = select_nearest_to_targets(X, T, quotas=[3, 5, 0, 8, 4])
    assert sel.frame.sample_id.is_unique
    counts = sel.frame.groupby("target").size().reindex(list("01234"), fill_value=0)
    assert counts.tolist() == [3, 5, 0, 8, 4]
    # Each pick is ranked within its target by distance.
    for _, part in sel.frame.groupby("target"):
        assert part.distance.is_monotonic_increasing


def test_global_quota_keeps_the_closest_pairs():
    X = blobs([[0, 0]], per=100)
    T = np.zeros((4, 6), np.float32)
    T[:, 0] = [0, 1, 2, 30]
    sel = select_nearest_to_targets(X, T, k=10, max_total=12)
    assert len(sel) == 12
    all_pairs = brute_dist(T, X)
    # The far target (30 away) gets nothing: every pick beats its best distance.
    assert "3" not in set(sel.frame.target)
    assert sel.frame.distance.max() <= all_pairs[3].min()
    assert "global quota" in sel.summary.set_index("target").note["3"]


def test_short_supply_is_reported_and_reuse_is_opt_in():
    X = blobs([[0, 0]], per=6)
    T = X[:3]
    sel = select_nearest_to_targets(X, T, k=4)
    assert len(sel) == 6 and sel.frame.sample_id.is_unique
    assert (sel.summary.note == "not enough unused candidates").sum() >= 1
    reused = select_nearest_to_targets(X, T, k=4, reuse=True)
    assert len(reused) == 12 and not reused.frame.sample_id.is_unique


def test_attribute_targets_expand_ranges_and_split_quotas():
    spec = parse_target("pose_yaw_deg=60..30,color_temp_k=3200,bg_kind=texture")
    assert spec == {"pose_yaw_deg": (30.0, 60.0), "color_temp_k": 3200.0, "bg_kind": "texture"}
    points, quotas = target_points([spec], steps=3, k=10)
    assert points.pose_yaw_deg.tolist() == [30.0, 45.0, 60.0]
    assert quotas.tolist() == [4, 3, 3] and quotas.sum() == 10
    assert (points.color_temp_k == 3200).all()
    for bad in ("yaw", "yaw=1..x", "=3", ""):
        with pytest.raises(SelectionError):
            parse_target(bad)


def test_nearest_validates_its_input():
    X = blobs([[0, 0]], per=10)
    with pytest.raises(SelectionError, match="features"):
        select_nearest_to_targets(X, np.zeros((1, 3)))
    with pytest.raises(SelectionError, match="positive integer"):
        select_nearest_to_targets(X, X[:1], k=0)
    with pytest.raises(SelectionError, match="no candidates"):
        select_nearest_to_targets(np.zeros((0, 6)), X[:1])


# -- coverage ---------------------------------------------------------------------------------
def test_k_center_radius_is_non_increasing_and_matches_brute_force():
    X = blobs([[0, 0], [10, 0], [0, 10], [10, 10]], per=40, d=4, seed=2)
    radii = []
    for m in range(1, 25):
        sel = select_coverage(X, m)
        picked = sel.frame.sample_id.astype(int).to_numpy()
        radius = brute_dist(X, X[picked]).min(axis=1).max()
        assert sel.stats["radius"] == pytest.approx(radius, rel=1e-4)
        radii.append(sel.stats["radius"])
    assert all(b <= a + 1e-6 for a, b in zip(radii, radii[1:], strict=False))
    # Greedy picks are nested: the answer for m is the prefix of the answer for m+1.
    assert select_coverage(X, 10).ids == select_coverage(X, 20).ids[:10]
    # Four blobs: four picks already cover each blob from inside.
    four = select_coverage(X, 4).frame.sample_id.astype(int).to_numpy()
    assert len({int(i) // 40 for i in four}) == 4


def test_coverage_extends_a_preselected_set_and_validates():
    X = blobs([[0, 0], [50, 0]], per=30, d=3)
    sel = select_coverage(X, 1, preselected=np.arange(30))  # the first blob is "real"
    assert int(sel.ids[0]) >= 30  # the next pick fills the uncovered blob
    with pytest.raises(SelectionError, match="only 30"):
        select_coverage(X, 31, preselected=np.arange(30))
    with pytest.raises(SelectionError, match="start"):
        select_coverage(X, 2, start="middle")
    seeded = [select_coverage(X, 5, start="random", random_state=s).ids for s in (1, 1, 2)]
    assert seeded[0] == seeded[1]


# -- duplicates and leakage -----------------------------------------------------------------
def test_planted_near_duplicates_are_grouped_and_leakage_reported():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 8)).astype(np.float32)
    dupes = X[:20] + 1e-3 * rng.standard_normal((20, 8)).astype(np.float32)
    triple = X[20:21] + np.float32(2e-3)
    Xa = np.r_[X, dupes, triple]
    splits = ["train"] * 300 + ["test"] * 10 + ["train"] * 11
    ids = [f"s{i}" for i in range(len(Xa))]
    sel = select_deduplicated(Xa, ids=ids, splits=splits)
    groups = sel.tables["groups"]
    assert sel.stats["groups"] == 21 and sel.stats["removed"] == 21
    assert len(sel) == 300
    assert set(groups.groupby("group").size()) == {2}
    # Pairs with one side in test and one in train leak; the 10 test twins are exactly that.
    leak = sel.tables["leakage"]
    assert len(leak) == 10
    assert set(leak.sample_id_b) == {f"s{i}" for i in range(300, 310)}
    assert sel.stats["threshold"] == pytest.approx(0.2 * sel.stats["median_nn_distance"])


def test_priority_decides_which_duplicate_is_kept():
    X = np.r_[np.eye(4), np.eye(4)].astype(np.float32)
    keep_second = select_deduplicated(X, priority=[1] * 4 + [0] * 4, threshold=0.0)
    assert sorted(keep_second.ids) == ["4", "5", "6", "7"]
    keep_first = select_deduplicated(X, threshold=0.0)
    assert sorted(keep_first.ids) == ["0", "1", "2", "3"]


def test_large_duplicate_groups_are_found_whole():
    X = np.r_[np.zeros((40, 3)), np.ones((5, 3)) * 10].astype(np.float32)
    sel = select_deduplicated(X, k=4, threshold=0.5)
    assert sel.stats["groups"] == 2 and len(sel) == 2
    # The same from a precomputed 4-NN graph: rows whose 4 neighbours are all duplicates
    # still look further.
    graph = NeighborIndex(4).fit(X).kneighbors()
    given = select_deduplicated(X, k=4, threshold=0.5, neighbors=graph)
    assert given.stats == sel.stats and given.ids == sel.ids


def test_a_precomputed_graph_gives_the_same_selection():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((200, 6)).astype(np.float32)
    X = np.r_[X, X[:30] + np.float32(1e-3)]
    splits = ["train"] * 200 + ["test"] * 30
    own = select_deduplicated(X, splits=splits)
    given = select_deduplicated(X, splits=splits, neighbors=NeighborIndex(10).fit(X).kneighbors())
    assert given.ids == own.ids and given.stats == own.stats
    pd.testing.assert_frame_equal(given.tables["leakage"], own.tables["leakage"])
    with pytest.raises(ValueError, match=r"\(230, >= 10\)"):
        select_deduplicated(X, neighbors=NeighborIndex(3).fit(X).kneighbors())


# -- mixing -----------------------------------------------------------------------------------
def mix_data(n_real=(20, 30), n_syn=(80, 10), seed=0):
    """Two strata; synthetic partly near the real samples, partly shifted far away."""
    rng = np.random.default_rng(seed)
    Xs, real, strata = [], [], []
    for s, (nr, ns) in enumerate(zip(n_real, n_syn, strict=True)):
        centre = np.full(4, 10.0 * s)
        Xs.append(centre + rng.standard_normal((nr, 4)))
        near = ns // 2
        Xs.append(centre + rng.standard_normal((near, 4)))
        Xs.append(centre + 6 + rng.standard_normal((ns - near, 4)))
        real += [True] * nr + [False] * ns
        strata += [f"s{s}"] * (nr + ns)
    X = np.concatenate(Xs).astype(np.float32)
    ids = [f"i{i}" for i in range(len(X))]
    return X, ids, np.array(real), np.array(strata, dtype=object)


def test_mix_achieves_the_ratio_exactly_when_feasible():
    X, ids, real, strata = mix_data()
    sel = select_mix(X, ids=ids, is_real=real, is_synthetic=~real, strata=strata,
                     synthetic_per_real=2.0, n_real=5)
    summary = sel.summary.set_index("stratum")
    assert summary.selected_real.tolist() == [5, 5]
    assert summary.selected_synthetic.tolist() == [10, 10]
    assert (summary.achieved_ratio == 2.0).all() and (summary.note == "").all()
    chosen = sel.frame
    assert chosen.sample_id.is_unique
    per = chosen.groupby(["stratum", "kind"]).size()
    assert per.loc[("s0", "synthetic")] == 10 and per.loc[("s1", "real")] == 5


def test_mix_reports_infeasible_strata_and_keeps_or_fills():
    X, ids, real, strata = mix_data(n_real=(20, 30), n_syn=(80, 10))
    sel = select_mix(X, ids=ids, is_real=real, is_synthetic=~real, strata=strata,
                     synthetic_per_real=1.0)
    s1 = sel.summary.set_index("stratum").loc["s1"]
    assert (s1.requested_real, s1.requested_synthetic) == (30, 30)
    assert (s1.selected_real, s1.selected_synthetic) == (10, 10)  # shrunk to keep 1:1
    assert "only 10 synthetic" in s1.note and "keep the ratio" in s1.note
    filled = select_mix(X, ids=ids, is_real=real, is_synthetic=~real, strata=strata,
                        synthetic_per_real=1.0, keep_ratio=False)
    f1 = filled.summary.set_index("stratum").loc["s1"]
    assert (f1.selected_real, f1.selected_synthetic) == (30, 10)
    assert f1.achieved_ratio == pytest.approx(1 / 3)


def test_mix_prefers_synthetic_close_to_the_real_samples():
    X, ids, real, strata = mix_data(n_real=(20, 20), n_syn=(80, 80))
    sel = select_mix(X, ids=ids, is_real=real, is_synthetic=~real, strata=strata,
                     synthetic_per_real=1.0)
    syn = sel.frame[sel.frame.kind == "synthetic"].sample_id
    pos = np.array([int(s[1:]) for s in syn])
    real_pos = np.flatnonzero(real)
    d_chosen = brute_dist(X[pos], X[real_pos]).min(axis=1)
    others = np.setdiff1d(np.flatnonzero(~real), pos)
    d_other = brute_dist(X[others], X[real_pos]).min(axis=1)
    assert np.median(d_chosen) < np.median(d_other)
    # Almost all picks come from the near half (the shifted half is 6 units away).
    assert (d_chosen < 3).mean() > 0.9


def test_mix_n_total_and_no_real_stratum_and_determinism():
    X, ids, real, strata = mix_data()
    sel = select_mix(X, ids=ids, is_real=real, is_synthetic=~real, strata=strata,
                     synthetic_per_real=3.0, n_total=16)
    s0 = sel.summary.set_index("stratum").loc["s0"]
    assert (s0.requested_real, s0.requested_synthetic) == (4, 12)
    assert (s0.selected_real, s0.selected_synthetic) == (4, 12)
    again = select_mix(X, ids=ids, is_real=real, is_synthetic=~real, strata=strata,
                       synthetic_per_real=3.0, n_total=16)
    assert again.ids == sel.ids
    only_syn = select_mix(X, ids=ids, is_real=np.zeros(len(X), bool), is_synthetic=~real,
                          synthetic_per_real=1.0, n_total=10)
    assert "no real samples" in only_syn.summary.note.iloc[0]
    with pytest.raises(SelectionError, match="both real and synthetic"):
        select_mix(X, ids=ids, is_real=real, is_synthetic=real)
    with pytest.raises(SelectionError, match="ratio"):
        select_mix(X, ids=ids, is_real=real, is_synthetic=~real, strata=strata,
                   synthetic_per_real={"s0": 1.0})
    # A synthetic weight: the same rows, plus a weight column (1 real, w synthetic).
    assert "weight" not in sel.frame and "synthetic_weight" not in sel.params
    weighted = select_mix(X, ids=ids, is_real=real, is_synthetic=~real, strata=strata,
                          synthetic_per_real=3.0, n_total=16, synthetic_weight=0.25)
    assert weighted.ids == sel.ids and weighted.params["synthetic_weight"] == 0.25
    assert (weighted.frame["weight"] == np.where(weighted.frame["kind"] == "real", 1.0,
                                                 0.25)).all()
    with pytest.raises(SelectionError, match="synthetic_weight must be"):
        select_mix(X, ids=ids, is_real=real, is_synthetic=~real, synthetic_weight=0)


# -- strata -----------------------------------------------------------------------------------
def test_strata_bin_numeric_columns_and_keep_labels():
    frame = pd.DataFrame({"label": ["a", "b"] * 50, "yaw": np.linspace(-90, 90, 100),
                          "n": [1, 2] * 50})
    keys = stratum_keys(frame, "label,yaw:2")
    assert set(keys) == {"label=a|yaw=[-90,0)", "label=a|yaw=[0,90]",
                         "label=b|yaw=[-90,0)", "label=b|yaw=[0,90]"}
    assert set(stratum_keys(frame, "n")) == {"n=1", "n=2"}  # few levels: not binned
    assert set(stratum_keys(frame, None)) == {"all"}
    with pytest.raises(StrataError, match="unknown stratum column"):
        stratum_keys(frame, "pose")
    with pytest.raises(StrataError, match="bins"):
        stratum_keys(frame, "yaw:0")


# -- named subsets ----------------------------------------------------------------------------
def test_subsets_save_load_refuse_overwrite_and_check_ids(tmp_path):
    ws = init_workspace(tmp_path / "ws")
    ingest(ws, read_digits(40))
    ids = ws.to_pandas(["sample_id"]).sample_id.tolist()
    X = np.random.default_rng(0).standard_normal((40, 3)).astype(np.float32)
    sel = select_coverage(X, 5, ids=ids)
    save_subset(ws, "cover-5", sel, extra={"embedding": "e"})
    back = load_subset(ws, "cover-5")
    assert back.ids == sel.ids and back.meta["method"] == "coverage"
    assert back.meta["stats"]["radius"] == pytest.approx(sel.stats["radius"])
    assert back.meta["embedding"] == "e"
    assert list_subsets(ws) == ["cover-5"]
    with pytest.raises(SubsetError, match="exists already"):
        save_subset(ws, "cover-5", sel)
    save_subset(ws, "cover-5", select_coverage(X, 3, ids=ids), overwrite=True)
    assert len(load_subset(ws, "cover-5").ids) == 3
    with pytest.raises(SubsetError, match="not allowed"):
        save_subset(ws, "../x", sel)
    with pytest.raises(SubsetError, match="not samples"):
        save_subset(ws, "bad", select_coverage(X, 2))  # ids "0", "1" are not sample ids
    with pytest.raises(SubsetError, match="no subset named"):
        load_subset(ws, "missing")
    rows = rows_for(ws, sel.ids[::-1], ["label"])
    assert rows.sample_id.tolist() == sel.ids[::-1]


# -- selectors as estimators, results that reload ------------------------------------------
def _four_selections():
    """One selection per selector, with the data that made it (to re-run it)."""
    X, ids, real, strata = mix_data()
    splits = ["train"] * (len(X) - 10) + ["test"] * 10
    Xd = np.r_[X, X[:10] + np.float32(1e-3)]
    ids_d = [*ids, *[f"d{i}" for i in range(10)]]
    runs = [
        (select_nearest_to_targets(X, X[:3] + 0.5, quotas=[2, 0, 4], max_total=5,
                                   candidate_ids=ids),
         (X, X[:3] + 0.5), {"candidate_ids": ids}),
        (select_coverage(X, 7, ids=ids, start="random", random_state=3), (X,), {"ids": ids}),
        (select_deduplicated(Xd, ids=ids_d, splits=[*splits, *["train"] * 10], scale=0.3),
         (Xd,), {"ids": ids_d, "splits": [*splits, *["train"] * 10]}),
        (select_mix(X, ids=ids, is_real=real, is_synthetic=~real, strata=strata,
                    synthetic_per_real={"s0": 2.0, "*": 0.5}, n_real=6, random_state=5),
         (X,), {"ids": ids, "is_real": real, "is_synthetic": ~real, "strata": strata}),
    ]
    return runs


def test_each_selection_re_runs_from_its_recorded_selector_to_the_same_ids():
    kinds = [NearestToTargetsSelector, CoverageSelector, DeduplicationSelector, MixSelector]
    for (sel, args, kwargs), kind in zip(_four_selections(), kinds, strict=True):
        selector = sel.selector()
        assert type(selector) is kind and isinstance(selector, Selector)
        assert selector.method == sel.method
        again = selector.select(*args, **kwargs)
        assert again.ids == sel.ids and again.stats == sel.stats
        pd.testing.assert_frame_equal(again.frame, sel.frame)
        # The JSON form of the selection rebuilds the same selector, too.
        reloaded = Selection.from_dict(sel.to_dict()).selector()
        assert reloaded.select(*args, **kwargs).ids == sel.ids
        twin = clone(selector)
        assert twin is not selector and twin.select(*args, **kwargs).ids == sel.ids
        assert twin.fit(*args, **kwargs).selection_.ids == sel.ids


def test_selectors_store_params_unmodified_and_clone():
    quotas = np.array([3, 1])
    nearest = NearestToTargetsSelector(4, quotas=quotas, max_total=3)
    assert nearest.get_params() == {"k": 4, "quotas": quotas, "max_total": 3, "reuse": False}
    assert nearest.get_params()["quotas"] is quotas
    ratio = {"a": 1.0, "*": 2.0}
    mix = MixSelector(ratio, n_total=10)
    assert mix.get_params()["synthetic_per_real"] is ratio
    twin = clone(mix).set_params(random_state=7)
    assert twin.random_state == 7 and mix.random_state == 0
    assert clone(CoverageSelector(5)).get_params() == {"m": 5, "start": "mean",
                                                       "random_state": 0}
    dedup = DeduplicationSelector(scale=0.5)
    assert Selector.from_config(dedup.config()).get_params() == dedup.get_params()
    # Parameters are checked when selecting, not when constructing (as in scikit-learn).
    bad = CoverageSelector(-1)
    with pytest.raises(SelectionError, match="m must be a non-negative integer"):
        bad.select(blobs([[0, 0]], per=5))


def test_the_functions_and_the_estimators_select_the_same():
    X = blobs([[0, 0], [30, 0]], per=40, d=4, seed=4)
    pairs = [
        (select_nearest_to_targets(X, X[:4], k=3), NearestToTargetsSelector(3).select(X, X[:4])),
        (select_coverage(X, 9), CoverageSelector(9).select(X)),
        (select_deduplicated(X, threshold=0.8), DeduplicationSelector(threshold=0.8).select(X)),
    ]
    for a, b in pairs:
        pd.testing.assert_frame_equal(a.frame, b.frame)
        assert a.params == b.params and a.stats == b.stats
        assert a.selector_config["params"] == b.selector_config["params"]


def test_selections_round_trip_through_dict_and_file(tmp_path):
    for sel, _, _ in _four_selections():
        back = Selection.from_dict(sel.to_dict())
        assert back.to_dict() == sel.to_dict()
        assert back.ids == sel.ids and back.method == sel.method
        assert back.to_frame().sample_id.tolist() == sel.ids
        assert f"{sel.method} selection" in back._repr_html_()
        path = sel.save(tmp_path / f"{sel.method}.json")
        loaded = Selection.load(path)
        assert loaded.to_dict() == sel.to_dict()
        assert set(loaded.tables) == set(sel.tables)
    by_hand = Selection("hand", pd.DataFrame({"sample_id": ["a"], "distance": [0.0],
                                              "reason": ["picked"]}))
    assert Selection.from_dict(by_hand.to_dict()).to_dict() == by_hand.to_dict()
    with pytest.raises(SelectionError, match="records no selector"):
        by_hand.selector()


def test_mix_counts_round_trip():
    counts = mix_counts(10, 3, 2.0, n_total=30)
    assert counts.notes  # short on synthetic: the notes say why
    back = MixCounts.from_dict(counts.to_dict())
    assert back.to_dict() == counts.to_dict()
    assert (back.real, back.synthetic) == (counts.real, counts.synthetic)
    assert counts.to_frame().loc["want_real", "value"] == counts.want_real
    assert "MixCounts" in counts._repr_html_()


def test_a_loaded_subset_round_trips(tmp_path):
    from curator.subsets import Subset

    ws = init_workspace(tmp_path / "ws")
    ingest(ws, read_digits(20))
    ids = ws.to_pandas(["sample_id"]).sample_id.tolist()
    X = np.random.default_rng(1).standard_normal((20, 3)).astype(np.float32)
    save_subset(ws, "cover-4", select_coverage(X, 4, ids=ids))
    sub = load_subset(ws, "cover-4")
    back = Subset.from_dict(sub.to_dict())
    assert back.to_dict() == sub.to_dict() and back.ids == sub.ids
    assert back.to_frame().sample_id.tolist() == sub.ids
    assert "subset cover-4 (coverage, 4 samples)" in sub._repr_html_()
