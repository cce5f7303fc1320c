"""PCA + Gaussian-mixture oversampling on real digits: shape, fidelity, provenance, errors."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow.compute as pc
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from curator.generative import GENERATOR, PcaGmmImageModel, oversampled_rows
from curator.hashing import config_hash
from curator.images import digits_to_uint8
from curator.ingest import ingest, read_digits
from curator.schema import conform_samples
from curator.stats import AnalysisError

MINORITY = 60  # images of class 3 the model sees: a small minority class


@pytest.fixture(scope="module")
def digits():
    bunch = load_digits()
    return digits_to_uint8(bunch.images), bunch.target


@pytest.fixture(scope="module")
def threes(digits):
    images, target = digits
    return images[target == 3][:MINORITY]


@pytest.fixture(scope="module")
def fitted(threes):
    return PcaGmmImageModel().fit(threes)


def test_samples_have_the_fitted_shape_dtype_and_grey_levels(fitted, threes):
    images = fitted.sample(50)
    assert images.shape == (50, 8, 8) and images.dtype == np.uint8
    # the digits' 17 grey levels: invented rows share the real rows' pixel format
    assert set(np.unique(images)) <= set(np.unique(threes))
    assert fitted.sample(0).shape == (0, 8, 8)


def test_samples_look_like_the_class_they_were_fitted_on(fitted, digits):
    images, target = digits
    samples = fitted.sample(300).reshape(300, -1).astype(float)
    class_mean = images[target == 3].reshape(-1, 64).mean(axis=0)
    assert np.corrcoef(samples.mean(axis=0), class_mean)[0, 1] > 0.8
    # an independent judge: a classifier trained on all the real digits calls them 3s
    clf = LogisticRegression(C=0.1, max_iter=500)
    clf.fit(images.reshape(len(images), -1) / 255.0, target)
    assert (clf.predict(samples / 255.0) == 3).mean() > 0.6
    # and they vary like the class does, not collapsed onto its mean
    assert samples.std(axis=0).mean() > 0.5 * images[target == 3].reshape(-1, 64).std(0).mean()


def test_sampling_is_deterministic_per_seed(threes, fitted):
    again = PcaGmmImageModel().fit(threes)
    assert np.array_equal(fitted.sample(20), again.sample(20))
    assert np.array_equal(fitted.sample(20, random_state=5), again.sample(20, random_state=5))
    assert not np.array_equal(fitted.sample(20), fitted.sample(20, random_state=5))
    assert fitted.config_hash == again.config_hash


def test_config_is_json_and_fingerprints_params_and_data(fitted, threes, digits):
    config = fitted.get_config()
    assert config["class"] == "PcaGmmImageModel" and config["image_shape"] == [8, 8]
    assert config["params"] == {"n_components": 0.95, "n_mixture": 4,
                                "covariance_type": "full", "random_state": 0}
    assert 1 <= config["pca_dims"] < 64 and config["mode"] == "L"
    assert fitted.config_hash == config_hash(config)
    images, target = digits
    assert PcaGmmImageModel().fit(images[target == 8][:MINORITY]).config_hash != fitted.config_hash
    assert PcaGmmImageModel(n_mixture=2).fit(threes).config_hash != fitted.config_hash


@pytest.mark.parametrize("covariance_type", ["tied", "diag", "spherical"])
def test_other_covariance_types_sample(threes, covariance_type):
    model = PcaGmmImageModel(n_components=10, covariance_type=covariance_type).fit(threes)
    assert model.get_config()["pca_dims"] == 10
    assert model.sample(5).shape == (5, 8, 8)


def test_rgb_images_round_trip_shape_and_mode():
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (1, 12, 10, 3))
    images = np.clip(base + rng.normal(0, 10, (30, 12, 10, 3)), 0, 255).astype(np.uint8)
    model = PcaGmmImageModel(n_mixture=2).fit(list(images))
    out = model.sample(4)
    assert out.shape == (4, 12, 10, 3) and out.dtype == np.uint8
    assert model.get_config()["mode"] == "RGB" and model.get_config()["levels"] is None
    assert np.abs(out.astype(float).mean(0) - images.mean(0)).mean() < 20


def test_too_many_mixture_components_are_lowered_with_a_note(threes):
    with pytest.warns(UserWarning, match="n_mixture=10 lowered to 5"):
        model = PcaGmmImageModel(n_mixture=10).fit(threes[:5])
    assert model.get_config()["n_mixture"] == 5
    assert model.sample(3).shape == (3, 8, 8)


@pytest.mark.parametrize("images, message", [
    (lambda t: t[:1], "at least 2 images"),
    (lambda t: [t[0], np.zeros((9, 8), np.uint8)], "image 1 is \\(9, 8\\)"),
    (lambda t: t.astype(np.float32), "dtype float32"),
    (lambda t: np.zeros((3, 8, 8, 4), np.uint8), "not grey HxW or RGB"),
])
def test_bad_images_are_refused_clearly(threes, images, message):
    with pytest.raises(AnalysisError, match=message):
        PcaGmmImageModel().fit(images(threes))


@pytest.mark.parametrize("params, message", [
    ({"n_components": 1.5}, "n_components"), ({"n_components": 0}, "n_components"),
    ({"n_mixture": 0}, "n_mixture"), ({"covariance_type": "wide"}, "covariance_type"),
    ({"random_state": -1}, "random_state"),
])
def test_bad_params_are_refused_by_name(threes, params, message):
    with pytest.raises(AnalysisError, match=message):
        PcaGmmImageModel(**params).fit(threes)


def test_unfitted_model_cannot_sample():
    with pytest.raises(AnalysisError, match="not fitted"):
        PcaGmmImageModel().sample(3)
    with pytest.raises(AnalysisError, match="not fitted"):
        PcaGmmImageModel().config_hash  # noqa: B018


def test_rows_conform_and_carry_provenance(threes):
    parents = [f"{i:032x}" for i in range(len(threes))]
    now = dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc)
    model = PcaGmmImageModel()
    table = oversampled_rows(threes, 3, parents, model, n=8, random_state=7, now=now)
    rows = conform_samples(table).to_pylist()
    assert len(rows) == 8 and len({r["sample_id"] for r in rows}) == 8
    first = rows[0]
    assert first["source"] == "oversampled" and first["label"] == "3"
    assert first["split"] == "train" and first["mode"] == "L"
    assert (first["width"], first["height"]) == (8, 8)
    assert first["generator"] == GENERATOR and first["config_hash"] == model.config_hash
    assert first["seed"] == 7 and first["parent_ids"] == parents
    assert first["oversample_parent_count"] == MINORITY and first["ingested_at"] == now
    # the same call gives the same ids and pixels; a long parent list is cut, the count kept
    again = oversampled_rows(threes, 3, parents, PcaGmmImageModel(), n=8, random_state=7,
                             max_parent_ids=5)
    assert again["sample_id"].to_pylist() == table["sample_id"].to_pylist()
    assert again["image_bytes"].to_pylist() == table["image_bytes"].to_pylist()
    assert again["parent_ids"][0].as_py() == parents[:5]
    assert again["oversample_parent_count"][0].as_py() == MINORITY
    other = oversampled_rows(threes, 3, parents, PcaGmmImageModel(), n=8, random_state=8)
    assert not set(other["sample_id"].to_pylist()) & set(table["sample_id"].to_pylist())


def test_rows_need_one_parent_id_per_image(threes):
    with pytest.raises(AnalysisError, match="parent_ids has 2 ids for 60 images"):
        oversampled_rows(threes, 3, ["a", "b"], PcaGmmImageModel(), n=2)


def test_append_to_a_real_workspace_is_idempotent(ws, look):
    ingest(ws, read_digits(400))
    real = ws.to_table(["sample_id", "image_bytes"], filters=pc.field("label") == "3")
    parents = real["sample_id"].to_pylist()
    images = [look.decode(b) for b in real["image_bytes"].to_pylist()]
    table = oversampled_rows(images, "3", parents, PcaGmmImageModel(), n=25, random_state=1)
    assert ws.append_samples(table) == 25
    made = ws.to_table(["sample_id", "label", "parent_ids", "image_bytes", "config_hash"],
                       filters=pc.field("source") == "oversampled")
    assert made.num_rows == 25 and set(made["label"].to_pylist()) == {"3"}
    known = ws.sample_ids()
    assert all(set(p) <= known and len(p) == len(parents)
               for p in made["parent_ids"].to_pylist())
    assert look.decode(made["image_bytes"][0].as_py()).shape == (8, 8)
    # a rerun with the same model, data and seed adds nothing
    rerun = oversampled_rows(images, "3", parents, PcaGmmImageModel(), n=25, random_state=1)
    assert ws.append_samples(rerun) == 0
    assert ws.samples.count(pc.field("source") == "oversampled") == 25


def test_model_is_a_scikit_learn_estimator_with_its_config_unchanged(fitted, threes):
    import json

    from sklearn.base import BaseEstimator, clone

    assert isinstance(fitted, BaseEstimator)
    assert fitted.get_params() == {"n_components": 0.95, "n_mixture": 4,
                                   "covariance_type": "full", "random_state": 0}
    other = clone(fitted).set_params(n_mixture=2, random_state=3)
    assert other.get_params()["n_mixture"] == 2 and not hasattr(other, "gmm_")
    # Configs, hashes and reprs are written exactly as before scikit-learn's get_params
    # (which sorts the names): the constructor's order, the same ids for the same images.
    config = fitted.get_config()
    assert list(config["params"]) == ["n_components", "n_mixture", "covariance_type",
                                      "random_state"]
    assert json.dumps(config).startswith(
        '{"class": "PcaGmmImageModel", "version": "1", "params": {"n_components": 0.95, '
        '"n_mixture": 4, "covariance_type": "full", "random_state": 0}, "image_shape": [8, 8]')
    assert fitted.config_hash == "452e81a41900c57a"
    assert repr(fitted) == ("PcaGmmImageModel(n_components=0.95, n_mixture=4, "
                            "covariance_type='full', random_state=0)")
    tuned = PcaGmmImageModel(n_components=10, n_mixture=2, covariance_type="diag",
                             random_state=4).fit(threes)
    assert tuned.config_hash == "1b60b2db28c5bcfc"


@pytest.mark.parametrize("params, message", [
    ({"n_components": True}, "n_components must be a whole number >= 1 or a variance fraction"),
    ({"n_components": "all"}, "n_components must be"),
    ({"n_mixture": 2.0}, "n_mixture must be a positive integer, got 2.0"),
    ({"random_state": None}, "random_state must be a non-negative integer, got None"),
])
def test_params_are_checked_by_the_shared_validation_helper(threes, params, message):
    with pytest.raises(AnalysisError, match=message):
        PcaGmmImageModel(**params).fit(threes)
