"""Label quality: flipped labels found with their true label, kNN votes, outliers, errors."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import NearestNeighbors

from curator.label_quality import (
    label_quality_report,
    neighbor_label_votes,
    out_of_fold_pred_probs,
)
from curator.stats import AnalysisError

NAMES = np.array(["cat", "dog", "eel", "fox"], dtype=object)


def gaussian_blobs(n=400, d=8, n_classes=4, spread=3.0, seed=0):
    """Points around random class centres; returns (X, true class codes)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, spread, (n_classes, d))
    y = rng.integers(0, n_classes, n)
    return (centres[y] + rng.standard_normal((n, d))).astype(np.float32), y


def flip_labels(y, share, n_classes=4, seed=1):
    """A copy of ``y`` with ``share`` of its labels moved to another class, and which ones."""
    rng = np.random.default_rng(seed)
    flipped = rng.choice(len(y), int(share * len(y)), replace=False)
    noisy = y.copy()
    noisy[flipped] = (y[flipped] + rng.integers(1, n_classes, len(flipped))) % n_classes
    return noisy, flipped


@pytest.fixture(scope="module")
def noisy():
    X, y = gaussian_blobs()
    noisy_y, flipped = flip_labels(y, 0.05)
    return X, y, noisy_y, flipped, label_quality_report(X, NAMES[noisy_y])


def test_a_precomputed_neighbour_graph_gives_the_same_report(noisy):
    X, _, noisy_y, _, own = noisy
    graph = NearestNeighbors(n_neighbors=12, algorithm="brute").fit(X).kneighbors()
    given = label_quality_report(X, NAMES[noisy_y], neighbors=graph)
    pd.testing.assert_frame_equal(given.tables["suspects"], own.tables["suspects"],
                                  check_exact=False, rtol=1e-5)
    with pytest.raises(AnalysisError, match="at least 10 neighbours"):
        label_quality_report(X, NAMES[noisy_y], neighbors=(graph[0][:, :4], graph[1][:, :4]))


def sklearn_neighbors(X, k):
    return NearestNeighbors(n_neighbors=k, algorithm="brute").fit(X).kneighbors()


# -- mislabeled samples ---------------------------------------------------------------------
def test_flipped_labels_are_found_with_their_true_label(noisy):
    X, y, noisy_y, flipped, result = noisy
    suspects = result.tables["suspects"]
    found = suspects.sample_id.astype(int).to_numpy()
    assert np.isin(flipped, found).mean() >= 0.8
    assert np.isin(found, flipped).mean() >= 0.6
    hits = suspects[suspects.sample_id.astype(int).isin(flipped)]
    true_names = NAMES[y[hits.sample_id.astype(int)]]
    assert (hits.suggested_label.to_numpy() == true_names).mean() >= 0.8
    assert (hits.label.to_numpy() == NAMES[noisy_y[hits.sample_id.astype(int)]]).all()

    s = result.summary
    by = suspects.flagged_by.value_counts()
    assert s["n_suspects"] == len(suspects) == s["n_confident_learning"] + s["n_knn"] - s["n_both"]
    assert by.get("both", 0) == s["n_both"]
    assert by.get("knn", 0) == s["n_knn"] - s["n_both"]
    assert 0.9 <= s["cv_accuracy"] <= 0.97  # the flipped 5% are predicted as their true class
    assert 0.02 <= s["estimated_noise_rate"] <= 0.1
    # Ranked by score, in [0, 1], samples both methods flag first.
    assert suspects.score.is_monotonic_decreasing
    assert suspects.score.between(0, 1).all()
    both = (suspects.flagged_by == "both").to_numpy()
    assert not (np.diff(both.astype(int)) > 0).any()
    # Self-confidence is the probability of the given label, suggested_prob of the suggestion.
    assert (suspects.self_confidence < 0.5).mean() >= 0.8
    cl = suspects[suspects.flagged_by != "knn"]
    assert (cl.suggested_prob > cl.self_confidence).all()

    per_label = result.tables["per_label"]
    assert per_label.label.tolist() == NAMES.tolist()
    assert per_label.n.tolist() == np.bincount(noisy_y).tolist()
    assert per_label.n_suspects.sum() == s["n_suspects"]
    finding = result.finding("mislabeled")
    assert finding is not None and finding.subject in NAMES
    assert f"labelled {finding.subject} look like" in finding.message


def test_clean_labels_give_few_suspects():
    X, y = gaussian_blobs(spread=4.0, seed=3)
    result = label_quality_report(X, NAMES[y])
    assert result.summary["n_suspects"] <= 0.02 * len(y)
    assert result.finding("mislabeled") is None
    assert result.summary["cv_accuracy"] >= 0.98


def test_knn_disagreement_and_majority_match_sklearn_brute_force():
    X, y = gaussian_blobs(spread=1.0, seed=5)  # overlapping classes: many mixed neighbourhoods
    k = 7
    dist, ind = sklearn_neighbors(X, k)
    expected = (y[ind] != y[:, None]).mean(axis=1)

    def majority(row):  # of the other labels (the sample's own when none differs)
        votes = Counter(c for c in y[ind[row]] if c != y[row]) or Counter([y[row]])
        top = max(votes.values())
        tied = [c for c in votes if votes[c] == top]
        return min(tied, key=lambda c: (dist[row][y[ind[row]] == c].sum(), c))

    disagreement, knn_label = neighbor_label_votes(y, dist, ind)
    np.testing.assert_allclose(disagreement, expected)
    assert knn_label.tolist() == [majority(i) for i in range(len(y))]

    result = label_quality_report(X, NAMES[y], k=k, knn_threshold=0.5)
    suspects = result.tables["suspects"]
    rows = suspects.sample_id.astype(int).to_numpy()
    np.testing.assert_allclose(suspects.knn_disagreement, expected[rows])
    assert suspects.knn_label.tolist() == NAMES[[majority(i) for i in rows]].tolist()
    by_knn = suspects.flagged_by.isin(["knn", "both"]).to_numpy()
    assert set(rows[by_knn]) == set(np.flatnonzero(expected >= 0.5))


# -- outliers -------------------------------------------------------------------------------
def test_planted_far_points_are_the_top_outliers():
    X, y = gaussian_blobs()
    far = np.zeros((3, X.shape[1]), np.float32)
    far[[0, 1, 2], [0, 1, 2]] = [60, 90, 120]
    X = np.vstack([X, far])
    labels = NAMES[np.r_[y, [0, 1, 2]]]
    result = label_quality_report(X, labels, k=5)
    outliers = result.tables["outliers"]
    assert outliers.sample_id.head(3).tolist() == ["402", "401", "400"]
    assert (outliers.robust_z > 4).all()
    dist, _ = sklearn_neighbors(X, 5)
    np.testing.assert_allclose(outliers.knn_distance, dist[outliers.sample_id.astype(int), -1],
                               rtol=1e-5)
    assert outliers.knn_distance.is_monotonic_decreasing
    assert result.summary["n_outliers"] == len(outliers)
    finding = result.finding("outlier", "embedding")
    assert "402, 401, 400" in finding.message


# -- given probabilities, small classes -----------------------------------------------------
def test_given_pred_probs_are_used_as_given():
    X, y = gaussian_blobs(spread=4.0, seed=3)
    rng = np.random.default_rng(0)
    probs = np.full((len(y), 4), 0.05) + rng.uniform(0, 0.01, (len(y), 4))
    probs[np.arange(len(y)), y] = 0.85
    odd = 17
    probs[odd] = 0.02
    probs[odd, (y[odd] + 2) % 4] = 0.94
    probs /= probs.sum(axis=1, keepdims=True)
    result = label_quality_report(X, NAMES[y], pred_probs=probs)
    suspects = result.tables["suspects"]
    row = suspects[suspects.sample_id == str(odd)]
    assert row.flagged_by.tolist() == ["confident_learning"]  # its neighbours agree with it
    assert row.suggested_label.tolist() == [NAMES[(y[odd] + 2) % 4]]
    assert row.self_confidence.tolist() == [probs[odd, y[odd]]]
    assert result.summary["cv_accuracy"] == (len(y) - 1) / len(y)
    assert result.params["pred_probs_given"] and result.params["cv_used"] is None


def test_small_classes_lower_cv_or_skip_confident_learning():
    X, y = gaussian_blobs(seed=4)
    labels = NAMES[y].copy()
    labels[np.flatnonzero(y == 3)[3:]] = "dog"  # 3 foxes left
    result = label_quality_report(X, labels)
    assert result.params["cv_used"] == 3
    assert any("cv lowered from 5 to 3" in note for note in result.notes)

    labels[np.flatnonzero(labels == "fox")[1:]] = "dog"  # 1 fox left
    result = label_quality_report(X, labels)
    assert any("Confident learning skipped" in note for note in result.notes)
    assert result.summary["n_confident_learning"] == 0
    assert np.isnan(result.summary["cv_accuracy"])
    suspects = result.tables["suspects"]
    assert (suspects.flagged_by == "knn").all() and len(suspects) > 0
    assert suspects.score.between(0, 1).all()


class RecordingLogisticRegression(LogisticRegression):
    """A logistic regression that notes the classes of every training set it is fit on."""

    fits: list[np.ndarray] = []

    def fit(self, X, y):
        self.fits.append(np.asarray(y))
        return super().fit(X, y)


def test_subsampled_fits_still_predict_every_row():
    X, y = gaussian_blobs()
    RecordingLogisticRegression.fits.clear()
    probs = out_of_fold_pred_probs(X, y, classifier=RecordingLogisticRegression(), cv=4,
                                   max_fit_samples=60)
    fits = RecordingLogisticRegression.fits
    assert [len(f) for f in fits] == [60] * 4
    assert all(np.unique(f).tolist() == [0, 1, 2, 3] for f in fits)  # stratified subsample
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)
    assert (probs.argmax(axis=1) == y).mean() >= 0.95


# -- determinism, errors, output ------------------------------------------------------------
def test_same_inputs_give_identical_tables_and_carry_frame_columns():
    X, y = gaussian_blobs(seed=7)
    noisy_y, _ = flip_labels(y, 0.05, seed=8)
    ids = [f"s{i:03d}" for i in range(len(y))]
    frame = pd.DataFrame({"source": np.where(np.arange(len(y)) % 2, "synthetic", "real")},
                         index=np.arange(len(y)) + 1000)  # carried by position, not index
    runs = [label_quality_report(X, noisy_y, ids, frame=frame, max_fit_samples=150,
                                 random_state=3) for _ in range(2)]
    for name in ("suspects", "outliers", "per_label"):
        pd.testing.assert_frame_equal(runs[0].tables[name], runs[1].tables[name])
    assert runs[0].summary == runs[1].summary
    suspects = runs[0].tables["suspects"]
    assert len(suspects) > 0
    rows = suspects.sample_id.str[1:].astype(int)
    assert (suspects.source.to_numpy() == frame.source.to_numpy()[rows]).all()
    assert set(suspects.label) <= {0, 1, 2, 3}  # integer labels keep their values


@pytest.mark.parametrize("change, match", [
    (dict(labels=NAMES[np.zeros(39, int)]), "labels has 39 rows but vectors has 40"),
    (dict(ids=[str(i) for i in range(41)]), "ids has 41 rows but vectors has 40"),
    (dict(labels=NAMES[np.zeros(40, int)]), "at least 2 classes"),
    (dict(k=40), r"k must be smaller than the number of samples \(40\).*got 40"),
    (dict(pred_probs=np.full((40, 3), 1 / 3)), r"pred_probs has shape \(40, 3\); expected "
                                               r"\(40, 2\)"),
    (dict(pred_probs=np.full((40, 2), 0.7)), "summing to 1"),
    (dict(knn_threshold=0), "knn_threshold"),
    (dict(frame=pd.DataFrame({"source": ["real"] * 3})), "frame has 3 rows"),
])
def test_errors_name_what_is_wrong(change, match):
    X, y = gaussian_blobs(n=40, n_classes=2)
    args = dict(vectors=X, labels=NAMES[y]) | change
    with pytest.raises(AnalysisError, match=match):
        label_quality_report(**args)


def test_nan_vectors_name_the_row():
    X, y = gaussian_blobs(n=40, n_classes=2)
    X[7, 3] = np.nan
    with pytest.raises(AnalysisError, match="vectors row 7"):
        label_quality_report(X, NAMES[y])


def test_html_shows_figures_and_findings_and_dict_is_json(noisy):
    result = noisy[-1]
    page = result.to_html()
    assert page.count("<svg") == 2
    assert result.finding("mislabeled").message in page
    data = json.loads(json.dumps(result.to_dict()))
    assert data["title"] == "Label quality"
    assert data["summary"]["n_suspects"] == len(result.tables["suspects"])
    assert len(data["tables"]["suspects"]) == len(result.tables["suspects"])


def test_labels_the_embedding_cannot_tell_apart_are_called_inseparable_not_mislabeled():
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(0, 1, (200, 4)), rng.normal(0, 1, (400, 4)) + 8].astype(np.float32)
    y = np.array(["a"] * 200 + ["b"] * 200 + ["c"] * 200)  # b and c: one distribution
    result = label_quality_report(X, y)
    kinds = {(f.kind, f.subject) for f in result.findings}
    assert {("inseparable", "b"), ("inseparable", "c")} <= kinds
    assert not {k for k in kinds if k[0] == "mislabeled"}
    assert "does not separate b from c" in result.finding("inseparable", "b").message
    assert result.tables["per_label"].set_index("label").loc["a", "n_suspects"] == 0


def test_report_reloads_with_its_figures(noisy, tmp_path):
    from curator.results import AnalysisResult, figure_svg

    report = noisy[-1]
    loaded = AnalysisResult.load(report.save(tmp_path / "label_quality.json"))
    assert loaded.to_dict(max_rows=None) == report.to_dict(max_rows=None)
    assert len(report.plot_fns) == 2
    assert [figure_svg(f) for f in loaded.figures()] == [figure_svg(f) for f in report.figures()]
