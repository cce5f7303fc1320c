"""Attribute–label association (Cramér's V, MI, permutation test) and rectification."""

from __future__ import annotations

import html
import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency
from scipy.stats.contingency import association
from sklearn.metrics import mutual_info_score
from sklearn.utils import check_random_state

from curator.bias import RectifyResult, association_report, cramers_v, decorrelate, mutual_info
from curator.requests import GenerationRequest
from curator.results import figure_svg
from curator.stats import AnalysisError

LABELS = ["car", "cat", "dog"]
BG_OF = {"car": "texture", "cat": "plain", "dog": "scene"}


def confounded(n=900, seed=0, tie=0.9):
    """bg_kind follows the label ``tie`` of the time; yaw, light and temperature do not."""
    rng = np.random.default_rng(seed)
    label = rng.choice(LABELS, n)
    bg = np.where(rng.random(n) < tie, pd.Series(label).map(BG_OF).to_numpy(),
                  rng.choice(sorted(BG_OF.values()), n))
    frame = pd.DataFrame({
        "sample_id": [f"s{i:05d}" for i in range(n)], "label": label,
        "source": "synthetic", "split": "train", "bg_kind": bg,
        "pose_yaw_deg": rng.uniform(-60, 60, n),
        "light_azimuth_deg": rng.uniform(-180, 180, n),
        "color_temp_k": rng.uniform(3000, 7000, n)})
    real = pd.DataFrame({"sample_id": [f"r{i:04d}" for i in range(n // 4)],
                         "label": rng.choice(LABELS, n // 4), "source": "real",
                         "split": "train"})
    return pd.concat([frame, real], ignore_index=True)  # real rows: no attributes (NaN)


# -- association ----------------------------------------------------------------------------
def test_confounder_is_flagged_and_independent_attributes_are_not():
    frame = confounded()
    result = association_report(frame)
    f = result.finding("confounder", "bg_kind")
    assert f is not None and f.severity == "alert"
    assert [x.subject for x in result.findings if x.kind == "confounder"] == ["bg_kind"]
    table = result.tables["associations"]
    assert table["attribute"].iloc[0] == "bg_kind" and table["flagged"].tolist()[0]
    assert not table["flagged"].iloc[1:].any()
    assert table["cramers_v"].is_monotonic_decreasing
    assert f.details["p_value"] == pytest.approx(1 / 201)
    assert f.message.startswith(f"bg_kind predicts the label (Cramér's V "
                                f"{f.details['cramers_v']:.2f}, p 0.005): ")
    cell = frame[frame.bg_kind == f.details["level"]]
    assert f.details["share"] == pytest.approx((cell.label == f.details["label"]).mean())
    assert f"{f.details['level']} → {f.details['share']:.0%} {f.details['label']}" in f.message
    # attributes are analysed over the rows that have them (the synthetic ones)
    assert (table["n"] == 900).all()


def test_v_and_mutual_information_match_scipy_and_sklearn():
    frame = confounded(seed=1, tie=0.4)
    result = association_report(frame, n_bins=5, n_permutations=20)
    for row in result.tables["associations"].itertuples():
        present = frame[frame[row.attribute].notna()]
        col = present[row.attribute]
        # Independently: pandas' equal-width bins, left-closed like ours ([lo, hi)).
        levels = pd.cut(col, 5, right=False).astype(str) \
            if pd.api.types.is_numeric_dtype(col) else col.astype(str)
        table = pd.crosstab(levels, present["label"]).to_numpy()
        assert row.cramers_v == pytest.approx(association(table, method="cramer"), abs=1e-12)
        assert row.mutual_info == pytest.approx(
            mutual_info_score(present["label"], levels), abs=1e-12)
    # and the table helpers on their own, with an empty row that must not count
    table = np.array([[10, 0, 5], [0, 0, 0], [3, 8, 20]])
    assert cramers_v(table) == pytest.approx(association(table[[0, 2]], method="cramer"))
    rows = np.repeat(np.arange(3), 3).repeat(table.ravel())  # the table as observations
    cols = np.tile(np.arange(3), 3).repeat(table.ravel())
    assert mutual_info(table) == pytest.approx(mutual_info_score(rows, cols))
    assert math.isnan(cramers_v([[4, 5]]))  # one row: undefined


def test_permutation_p_value_matches_a_direct_permutation_test():
    rng = np.random.default_rng(2)
    n = 400
    label = rng.choice(LABELS, n)
    weak = np.where(rng.random(n) < 0.08, pd.Series(label).map(BG_OF), rng.choice(
        sorted(BG_OF.values()), n))
    frame = pd.DataFrame({"sample_id": np.arange(n).astype(str), "label": label,
                          "bg_kind": weak})
    result = association_report(frame, n_permutations=150, random_state=7)
    p = result.tables["associations"]["p_value"].iloc[0]
    observed = mutual_info_score(label, weak)
    perm_rng = check_random_state(7)
    codes = pd.factorize(pd.Series(label), sort=True)[0]
    hits = sum(mutual_info_score(perm_rng.permutation(codes), weak) >= observed - 1e-12
               for _ in range(150))
    assert p == pytest.approx((1 + hits) / 151)
    assert 0.01 < p < 0.9  # a weak association: neither certain nor absent


def test_p_values_of_independent_attributes_are_roughly_uniform():
    rng = np.random.default_rng(3)
    n = 500
    frame = pd.DataFrame({"sample_id": np.arange(n).astype(str),
                          "label": rng.choice(LABELS, n),
                          **{f"noise_{i:02d}": rng.uniform(0, 1, n) for i in range(30)}})
    result = association_report(frame, n_permutations=99)
    assert "no attribute can be flagged" in result.notes[0]
    p = result.tables["associations"]["p_value"].to_numpy()
    assert result.finding("confounder") is None
    assert 0.3 < p.mean() < 0.7
    assert (p < 0.05).sum() <= 4 and (p > 0.5).sum() >= 8


def test_attribute_by_label_describes_each_class():
    frame = confounded(seed=4)
    table = association_report(frame, n_permutations=5).tables["attribute_by_label"]
    yaw = table.query("attribute == 'pose_yaw_deg'").set_index("label")
    syn = frame.dropna(subset=["pose_yaw_deg"])
    for lab, part in syn.groupby("label"):
        assert yaw.loc[lab, "n"] == len(part)
        assert yaw.loc[lab, "median"] == pytest.approx(part.pose_yaw_deg.median())
        assert yaw.loc[lab, "q95"] == pytest.approx(part.pose_yaw_deg.quantile(0.95))
    bg = table.query("attribute == 'bg_kind'")
    want = pd.crosstab(syn.label, syn.bg_kind, normalize="index")
    for row in bg.itertuples():
        assert row.share == pytest.approx(want.loc[row.label, row.value])


def test_same_random_state_gives_identical_tables():
    frame = confounded(seed=5, tie=0.3)
    a = association_report(frame, n_permutations=30, random_state=11)
    b = association_report(frame, n_permutations=30, random_state=11)
    for name in a.tables:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])
    s1 = decorrelate(frame, "bg_kind", method="subset", random_state=11)
    s2 = decorrelate(frame, "bg_kind", method="subset", random_state=11)
    assert s1.subset_ids == s2.subset_ids
    s3 = decorrelate(frame, "bg_kind", method="subset", random_state=12)
    assert len(s3.subset_ids) == len(s1.subset_ids) and s3.subset_ids != s1.subset_ids


# -- rectification --------------------------------------------------------------------------
def _v_of(frame, attribute, weights=None):
    """Cramér's V of the (optionally weighted) attribute x label table, via scipy's chi2."""
    table = pd.crosstab(frame[attribute], frame["label"], values=weights,
                        aggfunc="sum" if weights is not None else None).fillna(0).to_numpy()
    chi2 = chi2_contingency(table, correction=False)[0]
    return math.sqrt(chi2 / (table.sum() * (min(table.shape) - 1)))


def test_reweighing_makes_the_attribute_independent_of_the_label():
    frame = confounded(seed=6)
    result = decorrelate(frame, "bg_kind", method="weights")
    assert isinstance(result, RectifyResult)
    syn = frame.dropna(subset=["bg_kind"])
    assert result.summary["cramers_v_before"] == pytest.approx(_v_of(syn, "bg_kind"))
    assert result.summary["cramers_v_before"] > 0.7
    weights = result.weights
    assert weights.index.tolist() == frame["sample_id"].tolist()
    assert weights.mean() == pytest.approx(1.0)
    assert (weights[frame.loc[frame.bg_kind.isna(), "sample_id"]] == 1.0).all()
    w_syn = weights[syn["sample_id"]].to_numpy()
    after = _v_of(syn, "bg_kind", w_syn)
    assert after < 0.05 and result.summary["cramers_v_after"] == pytest.approx(after, abs=1e-9)
    # Kamiran–Calders: w(a, y) = P(a) P(y) / P(a, y), up to the mean-1 scale
    p_a, p_y = syn.bg_kind.value_counts(normalize=True), syn.label.value_counts(normalize=True)
    p_ay = syn.groupby(["bg_kind", "label"]).size() / len(syn)
    raw = np.array([p_a[a] * p_y[y] / p_ay[a, y] for a, y in zip(syn.bg_kind, syn.label,
                                                                    strict=True)])
    assert np.allclose(w_syn / raw, (w_syn / raw)[0])
    assert result.finding("rectified", "bg_kind") is not None


def test_subset_is_the_largest_proportional_one():
    frame = confounded(seed=7, tie=0.6)
    result = decorrelate(frame, "bg_kind", method="subset")
    kept = frame[frame.sample_id.isin(result.subset_ids)]
    assert set(frame.loc[frame.bg_kind.isna(), "sample_id"]) <= set(result.subset_ids)
    syn_kept = kept.dropna(subset=["bg_kind"])
    v_after = _v_of(syn_kept, "bg_kind")
    assert result.summary["cramers_v_before"] > 0.4 and v_after < 0.05
    assert result.summary["cramers_v_after"] == pytest.approx(v_after)
    # cell counts are floor(s * expected) and one cell is used up (s cannot grow)
    syn = frame.dropna(subset=["bg_kind"])
    counts = pd.crosstab(syn.bg_kind, syn.label)
    expected = np.outer(counts.sum(axis=1), counts.sum(axis=0)) / len(syn)
    got = pd.crosstab(syn_kept.bg_kind, syn_kept.label).reindex_like(counts).fillna(0)
    s = np.min((counts.to_numpy() + 1) / expected)
    assert np.array_equal(got.to_numpy(), np.floor(s * expected - 1e-9))
    assert (got.to_numpy() <= counts.to_numpy()).all()
    assert result.summary["n_subset"] == len(result.subset_ids)


def test_generation_requests_fill_the_under_filled_cells():
    frame = confounded(seed=8)
    result = decorrelate(frame, "bg_kind", recipe="objects")
    cells = result.tables["cells"]
    short = cells[cells["expected"] - cells["count"] >= 1]
    assert len(result.requests) == len(short) > 0
    by_cell = {(r.values["bg_kind"][0], r.label): r for r in result.requests}
    for row in short.itertuples():
        r = by_cell[row.bin, row.label]
        assert r.n == math.ceil(row.expected - row.count)
        assert BG_OF[row.label] != row.bin  # only the off-diagonal cells are short
        assert r.recipe == "objects" and r.reason == "fill bg_kind×label cell"
    assert len(result.tables["generation_requests"]) == len(result.requests)
    assert [r.n for r in result.requests] == sorted((r.n for r in result.requests),
                                                    reverse=True)


def test_numeric_attribute_requests_carry_the_bin_range():
    rng = np.random.default_rng(9)
    frame = confounded(seed=9)
    cars = (frame["pose_yaw_deg"].notna() & (frame.label == "car")).to_numpy()
    yaw = frame["pose_yaw_deg"].to_numpy().copy()
    yaw[cars] = np.where(rng.random(cars.sum()) < 0.85, rng.uniform(0, 60, cars.sum()),
                         rng.uniform(-60, 0, cars.sum()))  # cars mostly face right
    frame["pose_yaw_deg"] = yaw
    result = decorrelate(frame, "pose_yaw_deg", method="weights", n_bins=4)
    assert result.summary["cramers_v_after"] < 0.05 < result.summary["cramers_v_before"]
    car = [r for r in result.requests if r.label == "car"]
    assert car and all(r.ranges["pose_yaw_deg"][1] <= 1.0 for r in car)
    for r in result.requests:
        assert isinstance(r, GenerationRequest) and set(r.ranges) == {"pose_yaw_deg"}
        lo, hi = r.ranges["pose_yaw_deg"]
        assert -61 < lo < hi < 61


def test_empty_cells_are_left_to_generation():
    frame = confounded(seed=9)
    cars = (frame["pose_yaw_deg"].notna() & (frame.label == "car")).to_numpy()
    frame.loc[cars, "pose_yaw_deg"] = frame.loc[cars, "pose_yaw_deg"].abs()  # no car at < 0
    result = decorrelate(frame, "pose_yaw_deg", n_bins=4)
    assert result.summary["cramers_v_after"] > 0.1  # weights cannot fill an empty cell
    assert any("no samples" in note for note in result.notes)
    assert result.finding("rectified").severity == "warning"
    short = {(r.label, r.ranges["pose_yaw_deg"][1] <= 1.0) for r in result.requests}
    assert ("car", True) in short


def test_results_render_and_serialise():
    frame = confounded(seed=10)
    assoc = association_report(frame, n_permutations=100, alpha=0.05)
    fix = decorrelate(frame, "bg_kind", method="subset")
    for result in (assoc, fix):
        page = result.to_html()
        assert "<svg" in page
        for f in result.findings:
            assert html.escape(f.message) in page
    assert page.count("<svg") == 1
    assert assoc.to_html().count("<svg") == 2  # V bars and the confounder heatmap
    data = json.loads(json.dumps(fix.to_dict()))
    assert [GenerationRequest.from_dict(r) for r in data["requests"]] == fix.requests
    json.dumps(assoc.to_dict())
    assert fix.weights is None and assoc.to_frame() is assoc.tables["associations"]


def test_bad_input_is_refused_with_a_clear_message():
    frame = confounded(n=60)
    with pytest.raises(AnalysisError, match=r"unknown column 'bg'; available: sample_id, "
                                            r"label, source"):
        decorrelate(frame, "bg")
    with pytest.raises(AnalysisError, match="unknown column 'bg'"):
        association_report(frame, attributes=["bg"])
    with pytest.raises(AnalysisError, match="no rows"):
        association_report(frame.iloc[:0])
    one_class = frame.assign(label="car")
    with pytest.raises(AnalysisError, match="1 class.*at least 2"):
        association_report(one_class)
    with pytest.raises(AnalysisError, match="1 class"):
        decorrelate(one_class, "bg_kind")
    with pytest.raises(AnalysisError, match="method must be one of weights, subset, got "
                                            "'drop'"):
        decorrelate(frame, "bg_kind", method="drop")


def test_rectify_result_round_trips_with_its_requests(tmp_path):
    frame = confounded()
    result = decorrelate(frame, "bg_kind", recipe="objects")
    data = result.to_dict(max_rows=None)
    again = RectifyResult.from_dict(json.loads(json.dumps(data)))
    assert isinstance(again, RectifyResult) and again.requests == result.requests
    assert again.to_dict(max_rows=None) == data
    assert RectifyResult.from_dict(result.to_dict()).to_dict() == result.to_dict()
    loaded = RectifyResult.load(result.save(tmp_path / "rectify.json"))
    assert loaded.to_dict(max_rows=None) == data
    assert loaded.weights.to_dict() == pytest.approx(result.weights.to_dict())
    assert [figure_svg(f) for f in loaded.figures()] == [figure_svg(f) for f in
                                                         result.figures()]
    assert list(again.to_frame().columns) == list(result.to_frame().columns)
    assert "<svg" in loaded._repr_html_()


def test_association_report_reloads_with_its_figures(tmp_path):
    from curator.results import AnalysisResult, figure_svg

    result = association_report(confounded())
    loaded = AnalysisResult.load(result.save(tmp_path / "association.json"))
    assert loaded.to_dict(max_rows=None) == result.to_dict(max_rows=None)
    assert len(result.plot_fns) == 2  # the bars and the strongest confounder's heatmap
    assert [figure_svg(f) for f in loaded.figures()] == [figure_svg(f) for f in result.figures()]
