"""The neighbour engine against numpy brute force, scikit-learn and imbalanced-learn."""

from __future__ import annotations

import numpy as np
import pytest
from imblearn.over_sampling import ADASYN, SMOTE, BorderlineSMOTE
from sklearn.base import clone
from sklearn.neighbors import NearestNeighbors

from curator.index_store import workspace_index
from curator.neighbors import (
    NeighborIndex,
    NeighborsError,
    recall_at_k,
)


def brute(Q: np.ndarray, X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact kNN in float64 numpy, ties broken by lower index."""
    D = np.sqrt(((Q[:, None, :].astype(np.float64) - X[None].astype(np.float64)) ** 2).sum(-1))
    idx = np.argsort(D, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(D, idx, 1), idx


def random_data(n=2000, d=24, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)).astype(np.float32)


def clustered(n=20000, d=32, centres=50, seed=0):
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((centres, d)) * 6
    return (c[rng.integers(0, centres, n)] + rng.standard_normal((n, d))).astype(np.float32)


@pytest.mark.parametrize("make", [random_data, lambda: clustered(3000, 16, 8)])
def test_exact_search_equals_brute_force(make):
    X = make()
    Q = X[:200] * 0.9 + 0.05
    dist, ind = NeighborIndex(10).fit(X).kneighbors(Q)
    bd, bi = brute(Q, X, 10)
    np.testing.assert_allclose(dist, bd, rtol=1e-4, atol=1e-6)
    # Ids agree except where two candidates are tied in distance.
    differs = ind != bi
    assert np.allclose(dist[differs], bd[differs], rtol=1e-5)
    assert differs.mean() < 0.01


def test_self_query_leaves_each_point_out_like_sklearn():
    X = random_data(500, 8)
    ours = NeighborIndex(5).fit(X).kneighbors()[1]
    theirs = NearestNeighbors(n_neighbors=5).fit(X).kneighbors()[1]
    assert not (ours == np.arange(500)[:, None]).any()
    np.testing.assert_array_equal(ours, theirs)


def test_kneighbors_graph_matches_sklearn():
    X = random_data(300, 6)
    for mode in ("connectivity", "distance"):
        ours = NeighborIndex(4).fit(X).kneighbors_graph(mode=mode).toarray()
        theirs = NearestNeighbors(n_neighbors=4).fit(X).kneighbors_graph(mode=mode).toarray()
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("sampler", [
    lambda nn: SMOTE(random_state=0, k_neighbors=nn(6)),
    lambda nn: BorderlineSMOTE(random_state=3, k_neighbors=nn(6), m_neighbors=nn(11)),
    lambda nn: ADASYN(random_state=1, n_neighbors=nn(6)),
])
def test_imblearn_gives_identical_output_with_our_engine(sampler):
    X = random_data(1200, 10, seed=4).astype(np.float64)
    y = np.r_[np.zeros(1000, int), np.ones(150, int), np.full(50, 2)]
    default = sampler(lambda k: k - 1).fit_resample(X, y)
    ours = sampler(lambda k: NeighborIndex(k)).fit_resample(X, y)
    assert len(ours[0]) > len(X)
    np.testing.assert_array_equal(ours[0], default[0])
    np.testing.assert_array_equal(ours[1], default[1])


def test_clone_keeps_parameters_and_drops_fit():
    nn = NeighborIndex(7, index="IVF", nprobe=4, random_state=3).fit(clustered(2000, 8, 5))
    twin = clone(nn)
    assert twin.get_params() == nn.get_params()
    assert not hasattr(twin, "n_samples_fit_")
    with pytest.raises(NeighborsError, match="not fitted"):
        twin.kneighbors(np.zeros((1, 8)))


def test_dtypes_float64_float16_int_agree():
    X = random_data(400, 8)
    ref = NeighborIndex(3).fit(X).kneighbors(X[:20])[1]
    for dtype in (np.float64, np.float16):
        Xc = X.astype(dtype)
        got = NeighborIndex(3).fit(Xc).kneighbors(Xc[:20].astype(np.float32))[1]
        assert (got == ref).mean() > 0.9  # float16 rounding may swap near-ties
    Xi = (X * 10).astype(np.int32)
    dist, _ = NeighborIndex(1).fit(Xi).kneighbors(Xi[:5])
    assert np.allclose(dist, 0)


def test_fit_does_not_copy_float32_input():
    X = random_data(100, 4)
    assert NeighborIndex(2).fit(X)._fit_X is X


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_are_clear_errors(bad):
    X = random_data(50, 4)
    X[17, 2] = bad
    with pytest.raises(NeighborsError, match="row 17"):
        NeighborIndex(2).fit(X)
    good = NeighborIndex(2).fit(random_data(50, 4))
    with pytest.raises(NeighborsError, match="row 17"):
        good.kneighbors(X)


def test_k_larger_than_n_and_empty_sets():
    X = random_data(5, 3)
    nn = NeighborIndex(5).fit(X)
    assert nn.kneighbors(X)[1].shape == (5, 5)
    with pytest.raises(NeighborsError, match="n_neighbors = 6, n_samples_fit = 5"):
        nn.kneighbors(X, 6)
    with pytest.raises(NeighborsError, match="not its own neighbour"):
        nn.kneighbors(None, 5)
    with pytest.raises(NeighborsError, match="empty"):
        NeighborIndex().fit(np.zeros((0, 3)))
    d, i = nn.kneighbors(np.zeros((0, 3)), 2)
    assert d.shape == (0, 2) and i.shape == (0, 2)
    with pytest.raises(NeighborsError, match="features"):
        nn.kneighbors(np.zeros((2, 4)))
    with pytest.raises(NeighborsError, match="positive integer"):
        nn.kneighbors(X, 0)


def test_duplicate_points_sort_by_index_and_self_is_excluded():
    X = np.repeat(random_data(3, 4), 4, axis=0)  # every point 4 times
    dist, ind = NeighborIndex(3).fit(X).kneighbors()
    assert np.allclose(dist, 0)
    for i in range(len(X)):
        group = set(range(i // 4 * 4, i // 4 * 4 + 4)) - {i}
        assert set(ind[i]) == group
        assert list(ind[i]) == sorted(ind[i])


@pytest.mark.parametrize("spec", ["IVF", "HNSW", "IVF64,Flat"])
def test_approximate_indices_reach_target_recall_measured_against_exact(spec):
    X = clustered(20000, 32, 40)
    Q = X[::97] + 0.01
    nn = NeighborIndex(10, index=spec, target_recall=0.95).fit(X)
    exact = brute(Q, X, 10)[1]
    got = nn.kneighbors(Q)[1]
    measured = recall_at_k(got, exact)
    assert nn.recall_ >= 0.95
    assert measured >= 0.93, (spec, measured, nn.recall_)
    assert nn.factory_ != "Flat"


def test_ivf_tuning_reaches_the_target_when_lists_are_short_of_k():
    """At small nprobe a query's lists hold fewer than k points; those queries must count
    as misses while tuning (not be answered exactly and stop the tuner early)."""
    X = random_data(5000, 32, seed=1)
    nn = NeighborIndex(30, index="IVF").fit(X)
    assert nn.recall_ >= 0.95 and nn.effort_ > 1
    Q = X[::50] + 0.01
    assert recall_at_k(nn.kneighbors(Q)[1], NeighborIndex(30).fit(X).kneighbors(Q)[1]) >= 0.93


def test_coarse_pq_stops_tuning_at_its_recall_ceiling_and_refines_more_candidates():
    """PQ codes cap recall below the target: the tuner stops where more effort stops paying
    (not at an exhaustive scan), and the exact re-rank of 4k candidates lifts recall."""
    X = clustered(12000, 32, 40)
    Q = X[::97] + 0.01
    exact = NeighborIndex(10).fit(X).kneighbors(Q)[1]  # exact search (tested above)
    coarse = NeighborIndex(10, index="IVF32,PQ4x4", target_recall=0.99).fit(X)
    assert coarse.recall_ < 0.99
    assert coarse.effort_ < 32  # not every list
    raw = NeighborIndex(10, index="IVF32,PQ4x4", nprobe=coarse.effort_, refine=False).fit(X)
    refined = recall_at_k(coarse.kneighbors(Q)[1], exact)
    assert refined > recall_at_k(raw.kneighbors(Q)[1], exact) + 0.1
    assert abs(refined - coarse.recall_) < 0.1  # the measured recall is what queries get
    d, i = coarse.kneighbors(Q)
    assert d.shape == i.shape == (len(Q), 10) and (np.diff(d, axis=1) >= 0).all()


def test_bad_index_string_is_a_clear_error():
    with pytest.raises(NeighborsError, match="faiss cannot build"):
        NeighborIndex(index="Nonsense99").fit(random_data(100, 4))
    with pytest.raises(NeighborsError, match="lists but only"):
        NeighborIndex(index="IVF4096,Flat").fit(random_data(100, 4))


def test_save_load_round_trip_and_staleness(tmp_path):
    X = clustered(5000, 16, 10)
    nn = NeighborIndex(5, index="IVF", random_state=1).fit(X)
    nn.save(tmp_path / "ivf", fingerprint="abc")
    back = NeighborIndex.load(tmp_path / "ivf", X, fingerprint="abc")
    np.testing.assert_array_equal(back.kneighbors(X[:50])[1], nn.kneighbors(X[:50])[1])
    assert back.recall_ == nn.recall_ and back.get_params() == nn.get_params()
    with pytest.raises(NeighborsError, match="stale"):
        NeighborIndex.load(tmp_path / "ivf", X, fingerprint="other")
    with pytest.raises(NeighborsError, match="built for"):
        NeighborIndex.load(tmp_path / "ivf", X[:100], fingerprint="abc")


def test_workspace_index_is_reused_then_rebuilt_when_the_embedding_grows(tmp_path):
    from curator import init_workspace
    from curator.embed.store import Embedding, EmbeddingInfo

    ws = init_workspace(tmp_path / "ws")
    X = clustered(3000, 8, 6)
    info = EmbeddingInfo("e", "precomputed", "1", {}, "cfg", 8)
    emb = Embedding(info, np.arange(3000).astype(str).astype(object), X)
    first = workspace_index(ws, emb, NeighborIndex(5, index="IVF"))
    folder = next((ws.root / "index" / "e").iterdir())
    stamp = (folder / "index.faiss").stat().st_mtime_ns
    again = workspace_index(ws, emb, NeighborIndex(5, index="IVF"))
    assert (folder / "index.faiss").stat().st_mtime_ns == stamp  # loaded, not rebuilt
    assert again.recall_ == first.recall_
    grown = Embedding(info, np.arange(3100).astype(str).astype(object),
                      np.r_[X, clustered(100, 8, 6, seed=9)])
    rebuilt = workspace_index(ws, grown, NeighborIndex(5, index="IVF"))
    assert rebuilt.n_samples_fit_ == 3100
    assert (folder / "index.faiss").stat().st_mtime_ns != stamp
