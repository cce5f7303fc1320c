"""Embedding backends and the incremental embedding engine, on real workspaces."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.base import clone
from sklearn.decomposition import PCA

from curator import init_workspace
from curator.embed import (
    AttributeEmbedder,
    EmbeddingError,
    EmbeddingStore,
    PixelEmbedder,
    PrecomputedEmbedder,
    embed_workspace,
    list_embeddings,
    load_embedding,
    make_embedder,
)
from curator.embed.base import as_gray_float, as_rgb_float
from curator.embed.map2d import embedding_map, project_2d
from curator.hashing import text_id
from curator.images import encode_png
from curator.ingest import ingest, read_digits


@pytest.fixture
def digits_ws(tmp_path):
    ws = init_workspace(tmp_path / "ws")
    ingest(ws, read_digits(300))
    return ws


def digit_pixels(ws) -> tuple[list[str], np.ndarray]:
    """Sample ids and 8x8 pixels in [0, 1], decoded independently of the embedder."""
    import io

    from PIL import Image

    frame = ws.to_pandas(["sample_id", "image_bytes"])
    pixels = np.stack([np.asarray(Image.open(io.BytesIO(b)), np.float64) / 255.0
                       for b in frame.image_bytes])
    return frame.sample_id.tolist(), pixels.reshape(len(frame), -1)


def add_rows(ws, rows: list[dict]) -> None:
    """Append rows with attributes (and optional images) as real samples."""
    table = pa.Table.from_pylist([
        {"sample_id": text_id("row", str(r["key"])), "source": "real", "generator": "test",
         "generator_version": "1", "config_hash": "x", "split": "train",
         **{k: v for k, v in r.items() if k != "key"}} for r in rows])
    ws.append_samples(table)


def test_pixels_equal_sklearn_pca_on_the_same_pixels(digits_ws):
    summary = embed_workspace(digits_ws, PixelEmbedder(size=8, n_components=12))
    assert summary.n_new == 300 and summary.fitted and summary.dim == 12
    emb = load_embedding(digits_ws, "pixels")
    ids, pixels = digit_pixels(digits_ws)
    expected = PCA(12).fit_transform(pixels)
    got = emb.vectors[emb.positions(ids)]
    signs = np.sign((got * expected).sum(axis=0))  # components are defined up to sign
    np.testing.assert_allclose(got * signs, expected, atol=2e-4)


def test_embedding_is_incremental_and_keeps_the_fit(digits_ws, tmp_path):
    embed_workspace(digits_ws, PixelEmbedder(size=8, n_components=8))
    before = load_embedding(digits_ws, "pixels")
    state = EmbeddingStore(digits_ws, "pixels").state()
    ingest(digits_ws, read_digits(450))  # 150 new
    again = embed_workspace(digits_ws, PixelEmbedder(size=8, n_components=8))
    assert (again.n_new, again.n_total, again.fitted) == (150, 450, False)
    after = load_embedding(digits_ws, "pixels")
    np.testing.assert_array_equal(after.vectors[:300], before.vectors)
    assert len(set(after.ids)) == 450
    for key, value in EmbeddingStore(digits_ws, "pixels").state().items():
        np.testing.assert_array_equal(value, state[key])
    # The new vectors are the saved model applied to the new images.
    new_ids, pixels = digit_pixels(digits_ws)
    pos = after.positions(new_ids)
    expected = (pixels.astype(np.float32) - state["mean"]) @ state["components"].T
    np.testing.assert_allclose(after.vectors[pos], expected, atol=1e-4)
    assert embed_workspace(digits_ws, PixelEmbedder(size=8, n_components=8)).n_new == 0


def test_changed_settings_are_refused_until_refit(digits_ws):
    embed_workspace(digits_ws, PixelEmbedder(size=8, n_components=8))
    with pytest.raises(EmbeddingError, match="other settings.*--refit"):
        embed_workspace(digits_ws, PixelEmbedder(size=8, n_components=4))
    summary = embed_workspace(digits_ws, PixelEmbedder(size=8, n_components=4), refit=True)
    assert summary.dim == 4 and summary.n_total == 300
    assert load_embedding(digits_ws, "pixels").vectors.shape == (300, 4)
    assert not list((digits_ws.root / "embeddings").glob(".trash-*"))


def test_interrupted_run_resumes_without_duplicates(digits_ws):
    calls = []

    def stop_after_two(done, total):
        calls.append(done)
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        embed_workspace(digits_ws, PixelEmbedder(size=8), batch_size=50, shard_rows=50,
                        progress=stop_after_two)
    partial = EmbeddingStore(digits_ws, "pixels").vectors.count()
    assert 0 < partial < 300
    summary = embed_workspace(digits_ws, PixelEmbedder(size=8), batch_size=50, shard_rows=50)
    assert summary.n_new == 300 - partial
    emb = load_embedding(digits_ws, "pixels")
    assert len(emb) == 300 and len(set(emb.ids)) == 300


def test_same_seed_same_bytes(tmp_path):
    blobs = []
    for name in ("a", "b"):
        ws = init_workspace(tmp_path / name)
        ingest(ws, read_digits(120))
        embed_workspace(ws, PixelEmbedder(size=4, n_components=5), fit_samples=60,
                        random_state=7)
        emb = load_embedding(ws, "pixels")
        order = np.argsort(emb.ids)
        blobs.append(emb.vectors[order].tobytes())
    assert blobs[0] == blobs[1]


def test_filters_restrict_which_samples_get_vectors(digits_ws):
    embed_workspace(digits_ws, PixelEmbedder(size=8), name="threes",
                    filters=[("label", "==", "3")])
    emb = load_embedding(digits_ws, "threes")
    labels = digits_ws.to_pandas(["sample_id", "label"]).set_index("sample_id").label
    assert len(emb) == (labels == "3").sum() > 0
    assert set(labels[emb.ids]) == {"3"}
    assert emb.info.filters == [["label", "==", "3"]]
    assert list_embeddings(digits_ws) == ["threes"]


def test_image_modes_are_normalised():
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[..., 3] = 128  # half transparent red over black
    np.testing.assert_allclose(as_rgb_float(rgba, "RGBA")[0, 0], [128 / 255, 0, 0], atol=1e-6)
    gray16 = np.full((3, 3), 65535, np.uint16)
    assert as_gray_float(gray16, "I;16").max() == pytest.approx(1.0, abs=1e-6)
    la = np.stack([np.full((2, 2), 200, np.uint8), np.full((2, 2), 255, np.uint8)], -1)
    assert as_gray_float(la, "LA")[0, 0] == pytest.approx(200 / 255, abs=1e-6)


def test_pixels_on_mixed_sizes_and_modes(tmp_path):
    ws = init_workspace(tmp_path / "ws")
    rng = np.random.default_rng(0)
    rows = []
    for i, (shape, mode) in enumerate([((32, 48, 3), "RGB"), ((16, 16), "L"),
                                       ((20, 20, 4), "RGBA"), ((10, 30), "L")] * 3):
        px = rng.integers(0, 256, shape, dtype=np.uint8)
        rows.append({"key": i, "image_bytes": encode_png(px, mode), "width": shape[1],
                     "height": shape[0], "mode": mode})
    add_rows(ws, rows)
    summary = embed_workspace(ws, PixelEmbedder(size=6, color="rgb", n_components=None))
    assert summary.dim == 108 and summary.n_total == 12
    vec = load_embedding(ws, "pixels").vectors
    assert vec.min() >= 0 and vec.max() <= 1


def test_attributes_standardise_weight_and_encode_angles_and_categories(tmp_path):
    ws = init_workspace(tmp_path / "ws")
    rows = [{"key": i, "yaw_deg": float(y), "color_temp_k": float(t), "bg_kind": b,
             "gen_seed": i}
            for i, (y, t, b) in enumerate([(-170, 3200, "flat"), (170, 3200, "flat"),
                                           (0, 6500, "texture"), (90, 5000, "flat")])]
    add_rows(ws, rows)
    enc = AttributeEmbedder(weights={"color_temp_k": 2.0}, cyclic_deg=["yaw_deg"])
    embed_workspace(ws, enc)
    emb = load_embedding(ws, "attributes")
    frame = ws.to_pandas(["sample_id", "yaw_deg", "color_temp_k", "bg_kind"])
    vec = emb.vectors[emb.positions(frame.sample_id.tolist())]
    state = EmbeddingStore(ws, "attributes").state()
    assert list(state["columns"]) == ["yaw_deg", "color_temp_k", "bg_kind"]  # no gen_seed
    temps = frame.color_temp_k.to_numpy()
    # Colour temperature: standardised, times its weight.
    t_col = 2
    np.testing.assert_allclose(vec[:, t_col], 2 * (temps - temps.mean()) / temps.std(),
                               rtol=1e-5)
    # -170° and 170° are 20° apart on the circle, not 340°.
    a, b = frame.index[frame.yaw_deg == -170][0], frame.index[frame.yaw_deg == 170][0]
    yaw = slice(0, 2)
    assert np.linalg.norm(vec[a, yaw] - vec[b, yaw]) == pytest.approx(
        2 * np.sin(np.deg2rad(10)) / np.sqrt(2), rel=1e-5)
    # Two different categories are exactly `weight` (1) apart.
    flat, tex = vec[frame.bg_kind == "flat"][0, 3:], vec[frame.bg_kind == "texture"][0, 3:]
    assert np.linalg.norm(flat - tex) == pytest.approx(1.0, rel=1e-6)


def test_attributes_refuse_identifier_like_columns_and_bad_weights(tmp_path):
    rows = pd.DataFrame({"name": [f"n{i}" for i in range(100)], "x": np.arange(100.0)})
    with pytest.raises(EmbeddingError, match="identifier"):
        AttributeEmbedder(columns=["name", "x"]).fit(rows)
    with pytest.raises(EmbeddingError, match="weight"):
        AttributeEmbedder(columns=["x"], weights={"x": -1}).fit(rows)
    with pytest.raises(EmbeddingError, match="not encoded"):
        AttributeEmbedder(columns=["x"], weights={"y": 1}).fit(rows)
    with pytest.raises(EmbeddingError, match="not in the samples"):
        AttributeEmbedder(columns=["nope"]).fit(rows)


def test_precomputed_vectors_from_a_column(tmp_path):
    ws = init_workspace(tmp_path / "ws")
    vecs = np.random.default_rng(1).standard_normal((6, 5))
    add_rows(ws, [{"key": i, "my_vec": v.tolist()} for i, v in enumerate(vecs)])
    embed_workspace(ws, PrecomputedEmbedder("my_vec"), name="mine")
    emb = load_embedding(ws, "mine")
    frame = ws.to_pandas(["sample_id", "my_vec"])
    np.testing.assert_allclose(emb.vectors[emb.positions(frame.sample_id.tolist())],
                               np.stack(frame.my_vec.to_numpy()), rtol=1e-6)
    with pytest.raises(EmbeddingError, match="different lengths"):
        PrecomputedEmbedder("v").transform(pd.DataFrame({"sample_id": ["a", "b"],
                                                         "v": [[1.0, 2.0], [1.0]]}))


def test_bad_requests_are_clear_errors(tmp_path, digits_ws):
    with pytest.raises(EmbeddingError, match="unknown embedding backend 'pixel'"):
        make_embedder("pixel")
    with pytest.raises(EmbeddingError, match="bad parameters"):
        make_embedder("pixels", sizes=3)
    with pytest.raises(EmbeddingError, match="color must be"):
        embed_workspace(digits_ws, PixelEmbedder(color="cmyk"))
    with pytest.raises(EmbeddingError, match="no samples"):
        embed_workspace(init_workspace(tmp_path / "empty"), PixelEmbedder())
    with pytest.raises(EmbeddingError, match="no embedding named 'nope'"):
        load_embedding(digits_ws, "nope")
    with pytest.raises(EmbeddingError, match="not allowed"):
        embed_workspace(digits_ws, PixelEmbedder(), name="../escape")
    with pytest.raises(EmbeddingError, match="not fitted"):
        PixelEmbedder().transform(pd.DataFrame({"image": [], "mode": []}))


def test_embedders_clone_and_hash_their_parameters():
    a = PixelEmbedder(size=8)
    assert clone(a).get_params() == a.get_params()
    assert a.config_hash() == PixelEmbedder(size=8).config_hash()
    assert a.config_hash() != PixelEmbedder(size=9).config_hash()


def test_maps_are_cached_and_pca_is_deterministic(digits_ws):
    embed_workspace(digits_ws, PixelEmbedder(size=8))
    first = embedding_map(digits_ws, "pixels", method="pca")
    assert list(first.columns) == ["sample_id", "x", "y"] and len(first) == 300
    cached = list((digits_ws.root / "embeddings" / "pixels").glob("map-*.parquet"))
    assert len(cached) == 1
    stamp = cached[0].stat().st_mtime_ns
    pd.testing.assert_frame_equal(embedding_map(digits_ws, "pixels", method="pca"), first)
    assert cached[0].stat().st_mtime_ns == stamp
    # PCA's first axis carries the most variance.
    assert first.x.var() >= first.y.var()


def test_umap_map_separates_clusters_and_is_seeded():
    rng = np.random.default_rng(0)
    X = np.r_[rng.standard_normal((150, 10)), rng.standard_normal((150, 10)) + 8]
    xy, method = project_2d(X, method="umap", random_state=3)
    again, _ = project_2d(X, method="umap", random_state=3)
    assert method == "umap"
    np.testing.assert_array_equal(xy, again)
    a, b = xy[:150].mean(0), xy[150:].mean(0)
    spread = max(xy[:150].std(0).max(), xy[150:].std(0).max())
    assert np.linalg.norm(a - b) > 3 * spread
    tiny, used = project_2d(X[:10], method="auto")
    assert used == "pca" and tiny.shape == (10, 2)
