"""Balance report: minority classes, side bias, 1-D and 2-D holes, low-density regions."""

from __future__ import annotations

import html
import json

import numpy as np
import pandas as pd
import pytest

from curator.balance import LowDensity, balance_report, flagged_attributes, low_density
from curator.neighbors import NeighborIndex
from curator.results import AnalysisResult, figure_svg
from curator.stats import AnalysisError


def samples(n=1200, seed=0, yaw=None, labels=("car", "cat", "dog"), p=None, **columns):
    """A frame of synthetic samples with uniform yaw in [-60, 60] and colour temperature in
    [3000, 7000] unless given; extra ``columns`` are added as they are."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "sample_id": [f"s{i:05d}" for i in range(n)],
        "label": rng.choice(list(labels), n, p=p),
        "source": rng.choice(["synthetic", "augmented"], n, p=[0.8, 0.2]),
        "split": rng.choice(["train", "val"], n, p=[0.9, 0.1]),
        "pose_yaw_deg": rng.uniform(-60, 60, n) if yaw is None else yaw,
        "color_temp_k": rng.uniform(3000, 7000, n),
        "bg_kind": rng.choice(["plain", "texture", "scene"], n),
    })
    for name, values in columns.items():
        frame[name] = values
    return frame


def overlaps(lo, hi, a, b):
    return lo < b and hi > a


# -- side bias ------------------------------------------------------------------------------
def test_planted_yaw_side_bias_is_found():
    rng = np.random.default_rng(1)
    n = 1000
    yaw = np.where(rng.random(n) < 0.8, rng.uniform(0, 60, n), rng.uniform(-60, 0, n))
    result = balance_report(samples(n, yaw=yaw))
    f = result.finding("side_bias", "pose_yaw_deg")
    assert f is not None
    positive = float((yaw > 0).mean())
    assert f.details["share_negative"] == pytest.approx(1 - positive)
    assert f.details["p_value"] < 1e-3
    assert f"{positive:.0%} of samples at > 0" in f.message and "side bias" in f.message
    row = result.tables["minority_regions"].query("kind == 'side'").iloc[0]
    assert row["attribute"] == "pose_yaw_deg" and row["count"] == (yaw < 0).sum()
    assert result.summary["n_side_biased"] == 1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_balanced_yaw_has_no_side_bias(seed):
    result = balance_report(samples(1000, seed=seed))
    assert result.finding("side_bias") is None


def test_side_expectation_follows_the_range_not_a_fixed_half():
    # Designed as [-10, 60]: few negative yaws is the design, not a bias.
    yaw = np.random.default_rng(3).uniform(-10, 60, 1000)
    assert balance_report(samples(1000, yaw=yaw)).finding("side_bias") is None
    # Not an angle (no _deg suffix): never tested for sides.
    rng = np.random.default_rng(4)
    offset = np.where(rng.random(1000) < 0.9, rng.uniform(0, 1, 1000), rng.uniform(-1, 0, 1000))
    assert balance_report(samples(1000, offset_x=offset)).finding("side_bias") is None


# -- missing regions ------------------------------------------------------------------------
def test_one_dimensional_hole_is_named_with_its_range():
    rng = np.random.default_rng(5)
    yaw = rng.uniform(-60, 60, 1500)
    yaw = np.r_[yaw[(yaw < 20) | (yaw >= 40)], -60.0, 60.0]  # keep the range [-60, 60]
    result = balance_report(samples(len(yaw), yaw=yaw))
    f = result.finding("missing_region", "pose_yaw_deg")
    assert f is not None
    assert overlaps(f.details["lo"], f.details["hi"], 20, 40)
    assert f.details["count"] == 0 and f.severity == "alert"
    assert f.details["expected"] == pytest.approx(len(yaw) / 6)
    assert f.message.startswith("no samples with pose_yaw_deg in [20,40)")
    assert f"expected ~{len(yaw) / 6:,.0f}" in f.message
    assert result.finding("missing_region", "color_temp_k") is None
    assert result.finding("side_bias") is None  # a hole on one side is not a side bias


def test_two_dimensional_hole_is_found_where_each_attribute_alone_looks_fine():
    frame = samples(3000, seed=6)
    yaw, temp = frame["pose_yaw_deg"], frame["color_temp_k"]
    frame = frame[~((yaw >= 20) & (yaw < 40) & (temp >= 5000) & (temp < 5667))]
    result = balance_report(frame)
    assert result.finding("missing_region", "pose_yaw_deg") is None
    assert result.finding("missing_region", "color_temp_k") is None
    f = result.finding("missing_region", "pose_yaw_deg×color_temp_k")
    assert f is not None, [x.message for x in result.findings]
    assert overlaps(f.details["lo"], f.details["hi"], 20, 40)
    assert overlaps(f.details["lo_b"], f.details["hi_b"], 5000, 5667)
    assert f.details["count"] <= 2 and f.details["expected"] > 50
    assert "pose_yaw_deg in [" in f.message and "color_temp_k in [" in f.message
    assert "pose_yaw_deg×color_temp_k" in set(result.tables["minority_regions"]["attribute"])


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_no_missing_region_on_uniform_independent_data(seed):
    rng = np.random.default_rng(100 + seed)
    n = 1500  # the size of the 1-D hole test
    frame = samples(n, seed=seed, light_azimuth_deg=rng.uniform(-180, 180, n),
                    intensity=rng.normal(1.0, 0.2, n),  # a bell curve: tails are no hole
                    exposure=rng.exponential(1.0, n),
                    n_objects=rng.integers(1, 4, n))  # 3 values: no empty bins between them
    result = balance_report(frame)
    assert result.finding("missing_region") is None, [f.message for f in result.findings]
    assert result.finding("side_bias") is None
    bins = result.tables["attribute_bins"].query("attribute == 'n_objects'")
    assert bins["bin"].tolist() == ["1", "2", "3"] and (bins["kind"] == "discrete").all()


def test_bins_match_numpy_histogram_over_rows_that_have_the_attribute():
    frame = samples(800, seed=7)
    real = frame.sample(300, random_state=0).index
    frame.loc[real, "source"] = "real"
    frame.loc[real, "pose_yaw_deg"] = np.nan  # real samples have no pose
    result = balance_report(frame, n_bins=5)
    bins = result.tables["attribute_bins"].query("attribute == 'pose_yaw_deg'")
    counts, edges = np.histogram(frame["pose_yaw_deg"].dropna(), bins=5)
    assert bins["count"].tolist() == counts.tolist()
    assert np.allclose(bins["lo"], edges[:-1]) and np.allclose(bins["hi"], edges[1:])
    assert (bins["n_used"] == 500).all() and np.allclose(bins["expected_count"], 100)
    kinds = result.tables["attribute_bins"].query("attribute == 'bg_kind'")
    assert dict(zip(kinds["bin"], kinds["count"], strict=True)) \
        == frame["bg_kind"].value_counts().to_dict()
    cross = result.tables["label_by_source"].set_index("label")
    assert cross.loc["car", "real"] == ((frame.label == "car") & (frame.source == "real")).sum()


# -- labels ---------------------------------------------------------------------------------
def test_minority_class_is_flagged_with_its_ratio():
    frame = samples(1000, seed=8, p=[0.46, 0.46, 0.08])
    result = balance_report(frame)
    counts = frame["label"].value_counts()
    f = result.finding("minority_class", "dog")
    assert f is not None and result.finding("minority_class", "car") is None
    assert f.details["count"] == counts["dog"]
    assert f.details["ratio"] == pytest.approx(counts["dog"] / counts.median())
    assert f"{counts['dog'] / counts.median():.2g}x the median" in f.message
    assert result.summary["minority_labels"] == ["dog"]
    assert result.summary["imbalance_ratio"] == pytest.approx(counts.max() / counts.min())
    labels = result.tables["labels"]
    assert labels["count"].tolist() == sorted(counts.tolist(), reverse=True)
    assert labels["share"].sum() == pytest.approx(1.0)
    assert result.tables["splits"].set_index("split")["count"].to_dict() \
        == frame["split"].value_counts().to_dict()


def test_balanced_labels_have_no_minority():
    result = balance_report(samples(900, seed=9))
    assert result.finding("minority_class") is None and result.summary["minority_labels"] == []


# -- low density ----------------------------------------------------------------------------
def test_isolated_samples_form_low_density_regions():
    rng = np.random.default_rng(10)
    n, d = 600, 8
    X = rng.standard_normal((n, d)).astype(np.float32)
    planted = np.arange(n - 12, n)
    X[planted] = rng.standard_normal((12, d)) * 0.5 + 12 * np.eye(d)[rng.integers(0, d, 12)] \
        * rng.choice([-1, 1], (12, 1))
    frame = samples(n, seed=10)
    frame.loc[planted, "label"] = "rare"
    result = balance_report(frame, vectors=X, k=5)
    f = result.finding("low_density", "embedding")
    assert f is not None
    sparse = result.tables["low_density"]
    assert set(frame["sample_id"].iloc[planted]) <= set(sparse["sample_id"])
    assert len(sparse) <= 30
    assert "rare" in f.message
    # k-th neighbour distances as a brute-force check
    D = np.sqrt(((X[:, None, :].astype(np.float64) - X[None]) ** 2).sum(-1))
    np.fill_diagonal(D, np.inf)
    kth = np.sort(D, axis=1)[:, 4]
    got = sparse.set_index("sample_id")["knn_distance"]
    want = pd.Series(kth, index=frame["sample_id"])[got.index]
    assert np.allclose(got, want, rtol=1e-4)
    assert (kth[frame["sample_id"].isin(got.index)] > f.details["threshold"]).all()
    assert not (kth[~frame["sample_id"].isin(got.index)] > f.details["threshold"]).any()
    assert result.tables["low_density_regions"]["size"].sum() == len(sparse)
    # A precomputed (wider) neighbour graph gives the same answer without a new search.
    graph = NeighborIndex(8).fit(X).kneighbors()
    shared = balance_report(frame, vectors=X, k=5, neighbors=graph)
    pd.testing.assert_frame_equal(shared.tables["low_density"], sparse)
    with pytest.raises(AnalysisError, match="at least 5 neighbours"):
        balance_report(frame, vectors=X, k=5, neighbors=(graph[0][:, :3], graph[1][:, :3]))


def test_vectors_must_align_with_the_frame():
    frame = samples(50)
    with pytest.raises(AnalysisError, match="aligned with the frame's 50 rows"):
        balance_report(frame, vectors=np.zeros((49, 4), np.float32))


# -- results --------------------------------------------------------------------------------
def planted_frame():
    rng = np.random.default_rng(11)
    n = 1200
    yaw = np.where(rng.random(n) < 0.8, rng.uniform(0, 60, n), rng.uniform(-60, 0, n))
    return samples(n, seed=11, yaw=yaw, p=[0.47, 0.47, 0.06]), \
        rng.standard_normal((n, 6)).astype(np.float32)


def test_same_random_state_gives_identical_tables():
    frame, X = planted_frame()
    a = balance_report(frame, vectors=X, random_state=3)
    b = balance_report(frame, vectors=X, random_state=3)
    assert list(a.tables) == list(b.tables)
    for name in a.tables:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])
    assert [f.to_dict() for f in a.findings] == [f.to_dict() for f in b.findings]


def test_html_and_dict_carry_the_findings():
    frame, X = planted_frame()
    result = balance_report(frame, vectors=X)
    page = result.to_html()
    assert "<svg" in page
    for f in result.findings:
        assert html.escape(f.message) in page
    data = json.loads(json.dumps(result.to_dict()))
    assert {f["kind"] for f in data["findings"]} >= {"side_bias", "minority_class"}
    assert result.to_frame() is result.tables["labels"]
    for fig in result.figures():  # small figures
        assert len(figure_svg(fig)) < 20_000


def test_bad_input_is_refused_with_a_clear_message():
    frame = samples(30)
    with pytest.raises(AnalysisError, match=r"unknown column 'yaw'; available: sample_id"):
        balance_report(frame, attributes=["yaw"])
    with pytest.raises(AnalysisError, match="unknown column 'klass'"):
        balance_report(frame, label="klass")
    with pytest.raises(AnalysisError, match="no rows"):
        balance_report(frame.iloc[:0])
    with pytest.raises(AnalysisError, match="n_bins must be an integer >= 2"):
        balance_report(frame, n_bins=1)


def test_report_round_trips_with_its_named_plots(tmp_path):
    rng = np.random.default_rng(1)
    yaw = np.where(rng.random(1000) < 0.8, rng.uniform(0, 60, 1000), rng.uniform(-60, 0, 1000))
    result = balance_report(samples(1000, yaw=yaw))
    data = result.to_dict(max_rows=None)
    assert data["plots"] == ["curator.balance.plots:plot_labels",
                             "curator.balance.plots:plot_flagged_attributes"]
    assert flagged_attributes(result.findings) == ["pose_yaw_deg"]
    loaded = AnalysisResult.load(result.save(tmp_path / "balance.json"))
    assert loaded.to_dict(max_rows=None) == data
    assert [figure_svg(f) for f in loaded.figures()] == [figure_svg(f) for f in
                                                         result.figures()]


def test_low_density_result_round_trips():
    frame = samples(300)
    X = np.random.default_rng(2).standard_normal((300, 4)).astype(np.float32)
    X[:5] *= 8
    found = low_density(frame, X, 5, "label", ["pose_yaw_deg"], 0)
    assert isinstance(found, LowDensity) and len(found.samples) and found.findings
    data = json.loads(json.dumps(found.to_dict()))
    again = LowDensity.from_dict(data)
    assert again.to_dict() == found.to_dict()
    pd.testing.assert_frame_equal(again.samples, found.samples, check_dtype=False)
    assert again.findings == found.findings
    assert again.to_frame().loc["n_sparse", "value"] == len(found.samples)
    assert "threshold" in again._repr_html_()
