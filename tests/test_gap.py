"""Real vs synthetic gap metrics against independent numpy/scipy computations, and the
gap report on same-distribution, shifted and partly shifted synthetic sets."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import scipy.linalg
from scipy.stats import ks_2samp
from sklearn.metrics import roc_auc_score

from curator.gap import (
    GapConfig,
    ablation_gaps,
    attribute_distances,
    auc_interval,
    classifier_two_sample_test,
    frechet_distance,
    frechet_interval,
    gap_report,
    kid,
    plot_c2st,
    plot_kid,
    plot_prdc,
    prdc,
    prdc_intervals,
)
from curator.results import AnalysisResult, figure_svg
from curator.stats import AnalysisError


# -- independent references -----------------------------------------------------------------
def fd_reference(a: np.ndarray, b: np.ndarray) -> float:
    """FID's formula with scipy's matrix square root (real part), in float64."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(ca @ cb).real
    return float(((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(ca + cb - 2 * root))


def mmd2_reference(x: np.ndarray, y: np.ndarray, degree=3, coef0=1.0) -> float:
    """Unbiased polynomial-kernel MMD^2 from explicit off-diagonal masks."""
    x, y = x.astype(np.float64), y.astype(np.float64)
    gamma = 1.0 / x.shape[1]

    def k(a, b):
        return (gamma * np.einsum("id,jd->ij", a, b) + coef0) ** degree

    off_x = ~np.eye(len(x), dtype=bool)
    off_y = ~np.eye(len(y), dtype=bool)
    return float(k(x, x)[off_x].mean() + k(y, y)[off_y].mean() - 2 * k(x, y).mean())


def prdc_reference(real: np.ndarray, fake: np.ndarray, k: int) -> dict:
    """Naeem et al.'s reference formulas on full float64 distance matrices."""
    def dist(a, b):
        return np.sqrt(((a[:, None, :].astype(np.float64) - b[None].astype(np.float64)) ** 2)
                       .sum(-1))

    rr, ff, rf = dist(real, real), dist(fake, fake), dist(real, fake)
    real_r = np.sort(rr, axis=1)[:, k]  # k+1-th smallest: the point itself is the first
    fake_r = np.sort(ff, axis=1)[:, k]
    inside = rf < real_r[:, None]
    return {"precision": inside.any(0).mean(), "recall": (rf < fake_r[None]).any(1).mean(),
            "density": inside.sum(0).mean() / k, "coverage": (rf.min(1) < real_r).mean(),
            "counts": inside.sum(0), "real_radius": real_r, "fake_radius": fake_r}


def blobs(n: int, d: int, seed: int, shift: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(99).standard_normal((4, d)) * 3
    return (centres[rng.integers(0, 4, n)] + rng.standard_normal((n, d)) + shift
            ).astype(np.float32)


# -- Fréchet distance -----------------------------------------------------------------------
def test_frechet_distance_equals_scipy_sqrtm_formula():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((80, 6)).astype(np.float32)
    b = (rng.standard_normal((70, 6)) @ rng.standard_normal((6, 6)) + 0.5).astype(np.float32)
    assert frechet_distance(a, b) == pytest.approx(fd_reference(a, b), rel=1e-8)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)


def test_frechet_interval_brackets_estimate_and_separates_shift():
    same = frechet_interval(blobs(400, 8, 1), blobs(400, 8, 2), n_boot=50)
    far = frechet_interval(blobs(400, 8, 1), blobs(400, 8, 2, shift=1.0), n_boot=50)
    assert same.lo <= same.estimate <= same.hi
    assert far.estimate == pytest.approx(fd_reference(blobs(400, 8, 1),
                                                      blobs(400, 8, 2, shift=1.0)), rel=1e-8)
    assert far.lo > same.hi


# -- KID -----------------------------------------------------------------------------------
def test_kid_one_subset_of_all_points_equals_direct_mmd():
    x, y = blobs(40, 5, 3), blobs(40, 5, 4, shift=0.3)
    out = kid(x, y, n_subsets=1, subset_size=1000)  # the one subset: every row of both
    assert out.estimate == pytest.approx(mmd2_reference(x, y), rel=1e-10)
    assert out.lo < out.estimate < out.hi  # spread measured on half-size subsets
    assert kid(x, x[::-1].copy(), n_subsets=1, subset_size=40).estimate == pytest.approx(
        mmd2_reference(x, x[::-1]), rel=1e-10)


def test_kid_interval_covers_zero_for_same_distribution_not_for_shift():
    same = kid(blobs(600, 8, 5), blobs(600, 8, 6), n_subsets=50, subset_size=200)
    far = kid(blobs(600, 8, 5), blobs(600, 8, 6, shift=0.5), n_subsets=50, subset_size=200)
    assert same.covers(0.0)
    assert far.lo > 0


# -- PRDC -----------------------------------------------------------------------------------
def _adversarial(case: str) -> tuple[np.ndarray, np.ndarray, int]:
    rng = np.random.default_rng(7)
    if case == "random":
        return (rng.standard_normal((150, 6)).astype(np.float32),
                (rng.standard_normal((120, 6)) * 1.2 + 0.2).astype(np.float32), 5)
    if case == "large_radii":  # k close to n: every ball is wide, counts run into dozens
        return (rng.standard_normal((60, 4)).astype(np.float32),
                rng.standard_normal((70, 4)).astype(np.float32), 40)
    if case == "outlier":  # one real far away: its radius dwarfs all others
        real = rng.standard_normal((120, 5)).astype(np.float32)
        real[:3] += 40
        return real, rng.standard_normal((100, 5)).astype(np.float32), 3
    if case == "duplicates":  # repeated reals (zero radii) and fakes copying reals
        real = np.repeat(rng.standard_normal((30, 3)), 4, axis=0).astype(np.float32)
        real = np.vstack([real, rng.standard_normal((40, 3)).astype(np.float32)])
        fake = np.vstack([real[::3], rng.standard_normal((50, 3)).astype(np.float32)])
        return real, fake, 3
    # "dense": a tight clump of reals inside a wide cloud: fakes in the clump sit in more
    # than 32 balls, so the search must widen (doubling rounds) before counts are exact
    real = np.vstack([rng.standard_normal((150, 4)) * 0.05,
                      rng.standard_normal((150, 4)) * 3]).astype(np.float32)
    fake = np.vstack([rng.standard_normal((60, 4)) * 0.05,
                      rng.standard_normal((60, 4)) * 3]).astype(np.float32)
    return real, fake, 5


@pytest.mark.parametrize("case", ["random", "large_radii", "outlier", "duplicates", "dense"])
def test_prdc_equals_full_matrix_reference(case):
    real, fake, k = _adversarial(case)
    ours = prdc(real, fake, k=k)
    ref = prdc_reference(real, fake, k)
    for name in ("precision", "recall", "density", "coverage"):
        assert ours[name] == pytest.approx(ref[name], abs=1e-12), name
    np.testing.assert_array_equal(ours["fake_real_ball_count"], ref["counts"])
    np.testing.assert_allclose(ours["real_radius"], ref["real_radius"], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ours["fake_radius"], ref["fake_radius"], rtol=1e-6, atol=1e-6)
    if case == "dense":
        assert ours["search_rounds"]["precision_density"] > 1  # the widening path ran


def test_prdc_subsample_is_reported_and_exact_on_it():
    real, fake = blobs(300, 5, 8), blobs(260, 5, 9, shift=0.2)
    ours = prdc(real, fake, k=4, max_samples=100, random_state=3)
    assert ours["n_real"] == ours["n_fake"] == 100
    ref = prdc_reference(real[ours["real_index"]], fake[ours["fake_index"]], 4)
    for name in ("precision", "recall", "density", "coverage"):
        assert ours[name] == pytest.approx(ref[name], abs=1e-12)
    again = prdc(real, fake, k=4, max_samples=100, random_state=3)
    np.testing.assert_array_equal(again["real_index"], ours["real_index"])
    ci = prdc_intervals(ours, n_boot=50)
    assert all(ci[m].lo <= ours[m] <= ci[m].hi for m in ci)


def test_prdc_rejects_too_few_samples():
    with pytest.raises(AnalysisError, match="k=5"):
        prdc(np.zeros((5, 2)), np.ones((10, 2)), k=5)


# -- classifier two-sample test -------------------------------------------------------------
def test_auc_interval_estimate_equals_sklearn():
    rng = np.random.default_rng(2)
    a, b = rng.random(300).round(2), (rng.random(200) + 0.2).round(2)  # ties included
    expected = roc_auc_score(np.r_[np.zeros(300), np.ones(200)], np.r_[a, b])
    out = auc_interval(a, b)
    assert out.estimate == pytest.approx(expected, abs=1e-12)
    assert out.lo < expected < out.hi


def test_c2st_chance_for_same_distribution_high_for_shift():
    same, _ = classifier_two_sample_test(blobs(500, 8, 10), blobs(500, 8, 11))
    assert same.covers(0.5)
    far, proba = classifier_two_sample_test(blobs(500, 8, 10), blobs(400, 8, 11, shift=1.0),
                                            ids=[f"s{i}" for i in range(900)])
    assert far.estimate > 0.9
    assert list(proba.index[:2]) == ["s0", "s1"] and len(proba) == 900
    assert proba.iloc[500:].mean() > proba.iloc[:500].mean()


def test_c2st_sees_spread_mismatch():
    """A synthetic set with the right mean but half the spread (mode collapse)."""
    rng = np.random.default_rng(4)
    auc, _ = classifier_two_sample_test(rng.standard_normal((400, 6)),
                                        0.5 * rng.standard_normal((400, 6)))
    assert auc.lo > 0.8


# -- attribute distances --------------------------------------------------------------------
def test_attribute_distances_match_scipy_and_shares():
    rng = np.random.default_rng(5)
    real = pd.DataFrame({"yaw_deg": rng.uniform(-60, 60, 300),
                         "bg_kind": rng.choice(["room", "sky"], 300, p=[0.7, 0.3])})
    fake = pd.DataFrame({"yaw_deg": rng.uniform(-20, 60, 200),
                         "bg_kind": rng.choice(["room", "sky", "void"], 200, p=[0.3, 0.5, 0.2]),
                         "gen_recipe": "glyphs"})
    out = attribute_distances(real, fake).set_index("attribute")
    ks = ks_2samp(real["yaw_deg"], fake["yaw_deg"])
    assert out.loc["yaw_deg", "ks"] == pytest.approx(ks.statistic)
    assert out.loc["yaw_deg", "ks_p"] == pytest.approx(ks.pvalue)
    pr = real["bg_kind"].value_counts(normalize=True)
    pf = fake["bg_kind"].value_counts(normalize=True)
    tv = 0.5 * (pr.reindex(["room", "sky", "void"], fill_value=0)
                - pf.reindex(["room", "sky", "void"], fill_value=0)).abs().sum()
    assert out.loc["bg_kind", "tv"] == pytest.approx(tv)
    assert out.loc["bg_kind", "kind"] == "categorical" and out.loc["bg_kind", "chi2_p"] < 1e-3
    assert "gen_recipe" not in out.index  # only on one side
    marked = attribute_distances(real.assign(camera="phone"), fake.assign(camera="render"))
    assert "camera" not in set(marked["attribute"])  # one value per side: marks the side
    with pytest.raises(AnalysisError, match="nope"):
        attribute_distances(real, fake, ["nope"])


# -- the report -----------------------------------------------------------------------------
def _dataset(shift_all: float = 0.0, shift_label: str | None = None, seed: int = 0):
    """750 real + 750 synthetic samples of 3 labels (drawn i.i.d., so label counts vary),
    8-d blobs, a yaw attribute tied to the embedding; the synthetic rows of
    ``shift_label`` (or all, by ``shift_all``) moved."""
    rng = np.random.default_rng(seed)
    d, n = 8, 750
    centres = np.random.default_rng(42).standard_normal((3, d)) * 4
    rows = []
    for synthetic in (False, True):
        label = rng.integers(0, 3, n)
        x = centres[label] + rng.standard_normal((n, d))
        if synthetic:
            x = x + shift_all + 1.5 * (label.astype(str) == shift_label)[:, None]
        rows.append(pd.DataFrame({
            "sample_id": [f"{'s' if synthetic else 'r'}{i}" for i in range(n)],
            "label": label.astype(str), "synthetic": synthetic,
            "yaw_deg": 30 * x[:, 0], "gen_recipe": "glyphs" if synthetic else None,
            "vec": list(x.astype(np.float32))}))
    frame = pd.concat(rows, ignore_index=True)
    return np.stack(frame.pop("vec").to_numpy()), frame


@pytest.fixture(scope="module")
def same_report():
    vectors, frame = _dataset()
    return gap_report(vectors, frame["synthetic"], frame=frame, n_boot=50, kid_subsets=30,
                      kid_subset_size=200)


@pytest.fixture(scope="module")
def label_report():
    vectors, frame = _dataset(shift_label="2")
    return gap_report(vectors, frame["synthetic"], frame=frame, n_boot=50, kid_subsets=30,
                      kid_subset_size=200)


def test_same_distribution_scores_no_gap(same_report):
    gap = same_report.tables["gap"].set_index("stratum")
    assert list(gap.index) == ["all", "label 0", "label 1", "label 2"]
    row = gap.loc["all"]
    assert row["kid_lo"] <= 0 <= row["kid_hi"]
    assert row["c2st_auc_lo"] <= 0.5 <= row["c2st_auc_hi"]
    assert row["fd"] < 2 * row["fd_real_baseline"]
    assert same_report.finding("no_gap", "all") is not None
    assert same_report.finding("gap") is None
    assert same_report.summary["n_real"] == same_report.summary["n_synthetic"] == 750


def test_shifted_synthetic_scores_a_large_gap():
    vectors, frame = _dataset(shift_all=1.0)
    result = gap_report(vectors, frame["synthetic"], frame=frame, n_boot=30, kid_subsets=20,
                        kid_subset_size=200)
    row = result.tables["gap"].iloc[0]
    assert row["kid_lo"] > 0 and row["c2st_auc"] > 0.9
    assert row["fd_lo"] > 5 * row["fd_real_baseline"]
    assert result.finding("gap", "all") is not None
    assert result.finding("no_gap") is None
    assert result.finding("attribute_shift", "yaw_deg") is not None
    assert list(result.tables["attribute_distances"]["attribute"]) == ["yaw_deg"]
    assert result.finding("gap", "all").message.startswith("overall: synthetic is far")


def test_only_the_shifted_label_gets_a_gap_finding(label_report):
    gaps = {f.subject for f in label_report.findings if f.kind == "gap"}
    assert "label 2" in gaps
    assert not gaps & {"label 0", "label 1"}
    finding = label_report.finding("gap", "label 2")
    assert finding.severity == "alert" and "label 2: synthetic is far from real" in \
        finding.message
    obvious = label_report.tables["obviously_synthetic"]
    assert (obvious["label"] == "2").mean() > 0.8
    assert list(obvious.columns) == ["sample_id", "label", "p_synthetic", "gen_recipe"]


def test_small_strata_are_listed_with_a_reason():
    vectors, frame = _dataset()
    strata = pd.Series(np.where(frame["yaw_deg"] > 100, "extreme", "normal"))
    result = gap_report(vectors, frame["synthetic"], strata=strata, labels=frame["label"],
                        n_boot=20, kid_subsets=10, kid_subset_size=100, min_stratum=30)
    gap = result.tables["gap"].set_index("stratum")
    assert gap.loc["extreme", "reason"].startswith("fewer than 30")
    assert np.isnan(gap.loc["extreme", "kid"])
    assert pd.isna(gap.loc["normal", "reason"]) and gap.loc["normal", "by"] == "stratum"


def test_report_is_deterministic_renders_and_serialises(label_report):
    vectors, frame = _dataset(shift_label="2")
    again = gap_report(vectors, frame["synthetic"], frame=frame, n_boot=50, kid_subsets=30,
                       kid_subset_size=200)
    pd.testing.assert_frame_equal(again.tables["gap"], label_report.tables["gap"])
    assert [f.message for f in again.findings] == [f.message for f in label_report.findings]
    html = label_report.to_html()
    assert html.count("<svg") == 3
    json.dumps(label_report.to_dict())


def test_report_rejects_bad_input():
    vectors, frame = _dataset()
    with pytest.raises(AnalysisError, match="is_synthetic"):
        gap_report(vectors, frame["synthetic"][:10])
    with pytest.raises(AnalysisError, match="both real and synthetic"):
        gap_report(vectors, np.zeros(len(vectors), bool))


def test_ablation_gaps_names_the_randomizer_that_matters():
    """"pose" variants look like the full recipe; "lighting" ones are shifted."""
    vectors, frame = _dataset()
    synthetic = frame["synthetic"].to_numpy()
    rng = np.random.default_rng(3)
    noise = np.float32(0.1) * rng.standard_normal((600, vectors.shape[1]), dtype=np.float32)
    extra = vectors[synthetic][rng.choice(int(synthetic.sum()), 600)] + noise
    extra[300:] += np.float32(1.0)
    X = np.vstack([vectors, extra])
    flags = np.r_[synthetic, np.ones(600, bool)]
    names = np.r_[np.where(synthetic, "none", None).astype(object),
                  np.repeat(np.array(["pose", "lighting"], object), 300)]
    result = ablation_gaps(X, flags, names, n_boot=30, kid_subsets=20, kid_subset_size=200)
    table = result.tables["ablation_gap"]
    assert list(table["stratum"]) == ["none", "lighting", "pose"]
    assert result.summary["most_important"] == "lighting"
    assert result.finding("randomizer_matters", "lighting") is not None
    assert result.finding("randomizer_matters", "pose") is None
    assert table.loc[0, "kid_vs_reference"] == 0
    assert "<svg" in result.to_html()


# -- reloading and the scoring config -------------------------------------------------------
def test_gap_report_round_trips_with_its_plots(label_report, tmp_path):
    data = label_report.to_dict(max_rows=None)
    assert data["plots"] == ["curator.gap.plots:plot_kid", "curator.gap.plots:plot_c2st",
                             "curator.gap.plots:plot_prdc"]
    again = AnalysisResult.from_dict(json.loads(json.dumps(data)))
    assert again.to_dict(max_rows=None) == data
    assert again.plot_fns == [plot_kid, plot_c2st, plot_prdc]
    # The reloaded tables hold None where the originals held NaN: the same figures.
    assert [figure_svg(f) for f in again.figures()] == [figure_svg(f) for f in
                                                          label_report.figures()]
    loaded = AnalysisResult.load(label_report.save(tmp_path / "gap.json"))
    assert loaded.to_dict(max_rows=None) == data


def test_gap_config_and_keywords_score_alike():
    vectors, frame = _dataset(seed=1)
    vectors, frame = vectors[::5], frame.iloc[::5].reset_index(drop=True)
    scoring = dict(k=3, n_boot=10, kid_subsets=5, kid_subset_size=50, min_stratum=10)
    by_keywords = gap_report(vectors, frame["synthetic"], frame=frame, **scoring)
    by_config = gap_report(vectors, frame["synthetic"], frame=frame,
                           config=GapConfig(**scoring))
    mixed = gap_report(vectors, frame["synthetic"], frame=frame,
                       config=GapConfig(**scoring, random_state=7), random_state=0)
    assert by_config.to_dict() == by_keywords.to_dict() == mixed.to_dict()
    assert list(by_keywords.params)[:7] == [
        "k", "n_boot", "max_samples", "min_stratum", "kid_subsets", "kid_subset_size",
        "random_state"]
    with pytest.raises(TypeError, match="gap_report.*n_bot.*scoring options are k, n_boot"):
        gap_report(vectors, frame["synthetic"], n_bot=3)
    with pytest.raises(AnalysisError, match="n_boot must be a positive integer, got 0"):
        gap_report(vectors, frame["synthetic"], n_boot=0)
    with pytest.raises(AnalysisError, match="min_stratum must be an integer >= 2, got 1"):
        ablation_gaps(vectors, frame["synthetic"], np.full(len(frame), "none"), min_stratum=1)


def test_metric_parameters_are_checked_by_name():
    real, fake = blobs(30, 3, 0), blobs(30, 3, 1)
    with pytest.raises(AnalysisError, match="k must be a positive integer, got 0"):
        prdc(real, fake, k=0)
    with pytest.raises(AnalysisError, match=r"alpha must be a number in \(0, 1\), got 1.5"):
        frechet_interval(real, fake, alpha=1.5)
    with pytest.raises(AnalysisError, match="subset_size must be an integer >= 2, got 1"):
        kid(real, fake, subset_size=1)
    with pytest.raises(AnalysisError, match=r"alpha must be a number in \(0, 1\)"):
        auc_interval(np.zeros(3), np.ones(3), alpha=0)
