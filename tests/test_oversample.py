"""Feature-space oversampling: imbalanced-learn's own output, on our neighbour engine, with
the parents and weight of every invented row."""

from __future__ import annotations

import numpy as np
import pytest
from imblearn.over_sampling import SMOTE, BorderlineSMOTE

from curator.oversample import oversample
from curator.stats import AnalysisError


def blobs(shift=3.0, n_major=300, n_minor=40, seed=0):
    rng = np.random.default_rng(seed)
    X = np.r_[rng.normal(0, 1, (n_major, 4)), rng.normal(shift, 1, (n_minor, 4))]
    return X.astype(np.float32), np.array(["a"] * n_major + ["b"] * n_minor, dtype=object)


def parents_reproduce(X, out):
    a, b = X[out.parent_a.astype(int)], X[out.parent_b.astype(int)]
    return np.abs(a + out.weight.to_numpy()[:, None] * (b - a) - np.stack(out.vector)).max()


@pytest.mark.parametrize("sampler, reference, shift", [
    ("smote", SMOTE, 3.0), ("borderline", BorderlineSMOTE, 1.0)])
def test_same_seed_same_rows_as_imblearn_and_each_on_its_parents_segment(sampler, reference,
                                                                          shift):
    X, y = blobs(shift)
    out = oversample(X, y, sampler=sampler, random_state=3)
    expected, _ = reference(random_state=3).fit_resample(X, y)
    assert len(out) == 260 and (out.stratum == "b").all()
    np.testing.assert_allclose(np.stack(out.vector), expected[len(X):], rtol=1e-6)
    assert parents_reproduce(X, out) < 1e-5
    assert out.weight.between(0, 1).all()
    assert set(out.parent_a.astype(int)) | set(out.parent_b.astype(int)) <= set(range(300, 340))


def test_per_stratum_strategy_reaches_the_requested_counts():
    rng = np.random.default_rng(1)
    X = rng.normal(0, 1, (230, 3)).astype(np.float32)
    strata = np.array(["car|yaw=left"] * 20 + ["car|yaw=right"] * 200 + ["cat|yaw=left"] * 10,
                      dtype=object)
    ids = [f"s{i}" for i in range(230)]
    out = oversample(X, strata, ids=ids, sampling_strategy={"car|yaw=left": 120,
                                                            "cat|yaw=left": 30})
    assert out.stratum.value_counts().to_dict() == {"car|yaw=left": 100, "cat|yaw=left": 20}
    assert out.parent_a.str.startswith("s").all()
    assert parents_reproduce(X, out.assign(parent_a=out.parent_a.str[1:],
                                           parent_b=out.parent_b.str[1:])) < 1e-5


def test_too_small_strata_and_bad_input_get_clear_errors():
    X, y = blobs(n_minor=4)
    with pytest.raises(AnalysisError, match=r"fewer than k_neighbors \+ 1 = 6 .*b \(4\)"):
        oversample(X, y)
    assert len(oversample(X, y, k_neighbors=3)) == 296  # lower k: the documented way out
    with pytest.raises(AnalysisError, match="unknown strata"):
        oversample(X, y, sampling_strategy={"zebra": 10})
    with pytest.raises(AnalysisError, match="sampler must be one of"):
        oversample(X, y, sampler="adasyn")
    with pytest.raises(AnalysisError, match="3 keys for 304 rows"):
        oversample(X, y[:3])
