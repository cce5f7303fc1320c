"""Feature-space oversampling: imbalanced-learn's own output, on our neighbour engine, with
the parents and weight of every invented row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from imblearn.over_sampling import ADASYN, SMOTE, BorderlineSMOTE

from curator.oversample import AtLeast, oversample
from curator.stats import AnalysisError


def blobs(shift=3.0, n_major=300, n_minor=40, seed=0):
    rng = np.random.default_rng(seed)
    X = np.r_[rng.normal(0, 1, (n_major, 4)), rng.normal(shift, 1, (n_minor, 4))]
    return X.astype(np.float32), np.array(["a"] * n_major + ["b"] * n_minor, dtype=object)


def parents_reproduce(X, made, frame=None):
    frame = made.frame if frame is None else frame
    a, b = X[frame.parent_a.astype(int)], X[frame.parent_b.astype(int)]
    return np.abs(a + frame.weight.to_numpy()[:, None] * (b - a) - made.vectors).max()


@pytest.mark.parametrize("sampler, reference, shift", [
    ("smote", SMOTE, 3.0), ("borderline", BorderlineSMOTE, 1.0), ("adasyn", ADASYN, 1.0)])
def test_same_seed_same_rows_as_imblearn_and_each_on_its_parents_segment(sampler, reference,
                                                                          shift):
    X, y = blobs(shift)
    made = oversample(X, y, sampler=sampler, random_state=3)
    out = made.frame
    expected, _ = reference(random_state=3).fit_resample(X, y)
    # ADASYN rounds its per-sample counts, so it can miss 260 by a few (as imblearn does).
    assert len(made) == len(expected) - len(X) and abs(len(made) - 260) <= 20
    assert (out.stratum == "b").all()
    np.testing.assert_allclose(made.vectors, expected[len(X):], rtol=1e-6)
    assert parents_reproduce(X, made) < 1e-5
    assert out.weight.between(0, 1).all()
    assert set(out.parent_a.astype(int)) | set(out.parent_b.astype(int)) <= set(range(300, 340))


def test_integer_labels_and_row_position_ids():
    X, y = blobs()
    made = oversample(X, np.where(y == "a", 0, 7), random_state=3)
    expected, _ = SMOTE(random_state=3).fit_resample(X, np.where(y == "a", 0, 7))
    np.testing.assert_allclose(made.vectors, expected[len(X):], rtol=1e-6)
    assert set(made.frame.stratum) == {7} and parents_reproduce(X, made) < 1e-5


def test_per_stratum_strategy_reaches_the_requested_counts():
    rng = np.random.default_rng(1)
    X = rng.normal(0, 1, (230, 3)).astype(np.float32)
    strata = np.array(["car|yaw=left"] * 20 + ["car|yaw=right"] * 200 + ["cat|yaw=left"] * 10,
                      dtype=object)
    ids = [f"s{i}" for i in range(230)]
    made = oversample(X, strata, ids=ids, sampling_strategy={"car|yaw=left": 120,
                                                             "cat|yaw=left": 30})
    out = made.frame
    assert out.stratum.value_counts().to_dict() == {"car|yaw=left": 100, "cat|yaw=left": 20}
    assert out.parent_a.str.startswith("s").all()
    assert parents_reproduce(X, made, out.assign(parent_a=out.parent_a.str[1:],
                                                 parent_b=out.parent_b.str[1:])) < 1e-5
    at_least = oversample(X, strata, sampling_strategy=AtLeast(15))
    assert at_least.frame.stratum.value_counts().to_dict() == {"cat|yaw=left": 5}


def test_too_small_strata_and_bad_input_get_clear_errors():
    X, y = blobs(n_minor=4)
    with pytest.raises(AnalysisError, match=r"fewer than k_neighbors \+ 1 = 6 .*b \(4\)"):
        oversample(X, y)
    assert len(oversample(X, y, k_neighbors=3)) == 296  # lower k: the documented way out
    with pytest.raises(AnalysisError, match="unknown strata"):
        oversample(X, y, sampling_strategy={"zebra": 10})
    with pytest.raises(AnalysisError, match="sampler must be one of"):
        oversample(X, y, sampler="gan")
    far, labels = blobs(shift=50.0)  # no minority sample has a majority neighbour
    with pytest.raises(AnalysisError, match="adasyn: no sample of stratum 'b' .*smote"):
        oversample(far, labels, sampler="adasyn")
    with pytest.raises(AnalysisError, match="3 keys for 304 rows"):
        oversample(X, y[:3])


@pytest.fixture
def digits_ws(tmp_path):
    from curator import init_workspace
    from curator.embed import PixelEmbedder, embed_workspace
    from curator.ingest import ingest, read_digits

    ws = init_workspace(tmp_path / "ws")
    ingest(ws, read_digits(150))
    embed_workspace(ws, PixelEmbedder(size=8, n_components=8), name="pixels")
    return ws


def test_rows_land_in_the_workspace_with_parents_weight_and_vector(digits_ws):
    from curator.embed import PixelEmbedder, embed_workspace, load_embedding
    from curator.oversample import strategy_for
    from curator.workflows.oversample import oversample_workspace

    ws = digits_ws
    before = ws.to_pandas(["label"]).label.value_counts()
    summary = oversample_workspace(ws, "pixels", sampling_strategy=strategy_for(20))
    assert summary.written == summary.created == int((20 - before[before < 20]).sum()) > 0
    rows = ws.to_pandas(["sample_id", "source", "label", "split", "parent_ids", "os_weight",
                         "image_bytes"], [("source", "==", "oversampled")])
    assert (rows.split == "train").all() and rows.image_bytes.isna().all()
    labels = ws.to_pandas(["sample_id", "label"]).set_index("sample_id").label
    counts = labels.value_counts()
    assert (counts[before.index] >= 20).all()
    emb = load_embedding(ws, "pixels")
    for row in rows.itertuples():
        a, b = row.parent_ids
        assert labels[a] == labels[b] == row.label  # never mixes two labels
        va, vb, v = (emb.vectors[emb.positions([s])[0]] for s in (a, b, row.sample_id))
        np.testing.assert_allclose(v, va + row.os_weight * (vb - va), atol=1e-5)
    # Re-running adds nothing; image embedders skip the image-less rows.
    assert oversample_workspace(ws, "pixels", sampling_strategy=strategy_for(20)).written == 0
    again = embed_workspace(ws, PixelEmbedder(size=8, n_components=8), name="pixels")
    assert again.n_new == 0 and again.n_total == len(ws.to_pandas(["sample_id"]))


def test_cli_oversample_and_its_errors(digits_ws):
    from typer.testing import CliRunner

    from curator.cli import app

    runner = CliRunner()
    out = runner.invoke(app, ["oversample", "-e", "pixels", "--target", "18", "-w",
                              str(digits_ws.root)])
    assert out.exit_code == 0, out.output
    assert "new in the workspace" in out.output and "label=" in out.output
    bad = runner.invoke(app, ["oversample", "--target", "lots", "-w", str(digits_ws.root)])
    assert bad.exit_code == 2 and "--target must be" in bad.output
    small = runner.invoke(app, ["oversample", "--by", "label,split", "--target",
                                "balanced", "-w", str(digits_ws.root)])
    assert small.exit_code == 2 and "fewer than k_neighbors + 1" in small.output
    pool = runner.invoke(app, ["oversample", "--workers", "2", "-w", str(digits_ws.root)])
    assert pool.exit_code == 2 and "--workers and --executor apply to --render" in pool.output


def test_cli_render_and_images_modes_end_to_end(tmp_path):
    from typer.testing import CliRunner

    from curator import init_workspace
    from curator.cli import app
    from curator.ingest import ingest, read_digits
    from generators.recipe import load_recipe
    from generators.run import generate

    ws = init_workspace(tmp_path / "ws")
    ingest(ws, read_digits(80))
    generate(ws, load_recipe("digits3d"), 80, seed=0, workers=1)
    runner = CliRunner()
    small = runner.invoke(app, ["oversample", "--render", "--target", "10", "-w",
                                str(ws.root)])
    assert small.exit_code == 0 and "skipped (too few samples): digits3d label=" in small.output
    render = runner.invoke(app, ["oversample", "--render", "--target", "10", "--k", "3",
                                 "--workers", "2", "-w", str(ws.root)])
    assert render.exit_code == 0, render.output
    rows = ws.to_pandas(["label", "source", "parent_ids", "interp_weight", "pose_yaw_deg"],
                        [("oversample_kind", "==", "interpolate")])
    assert len(rows) > 0 and (rows.source == "synthetic").all()
    parents = ws.to_pandas(["sample_id", "label", "pose_yaw_deg"]).set_index("sample_id")
    for row in rows.itertuples():  # a rendered interpolation of its two parents
        a, b = row.parent_ids
        assert parents.label[a] == parents.label[b] == row.label
        lo, hi = sorted((parents.pose_yaw_deg[a], parents.pose_yaw_deg[b]))
        assert lo - 1e-6 <= row.pose_yaw_deg <= hi + 1e-6
    counts = ws.to_pandas(["label", "source"], [("source", "==", "synthetic")]).label
    assert (counts.value_counts() >= 10).all()
    images = runner.invoke(app, ["oversample", "--images", "--target", "10", "-w",
                                 str(ws.root)])
    assert images.exit_code == 0, images.output
    made = ws.to_pandas(["label", "image_bytes"], [("source", "==", "oversampled")])
    assert len(made) > 0 and made.image_bytes.notna().all()
    both = runner.invoke(app, ["oversample", "--images", "--render", "-w", str(ws.root)])
    assert both.exit_code == 2 and "choose one of --render, --images" in both.output
    # Attribute space: SMOTE-NC over numbers, a text kind and a count.
    cols = ["pose_yaw_deg", "color_temp_k", "bg_kind", "n_distractors"]
    args = ["oversample", "--table", ",".join(cols), "--where", "source == 'synthetic'",
            "--target", "14", "--k", "3", "-w", str(ws.root)]
    table = runner.invoke(app, args)
    assert table.exit_code == 0 and "smote-nc" in table.output, table.output
    nc = ws.to_pandas(["label", "parent_ids", "os_weight", "image_bytes", *cols],
                      [("generator", "==", "curator.oversample.smote-nc")])
    assert len(nc) > 0 and nc.image_bytes.isna().all()
    assert pd.api.types.is_integer_dtype(nc.n_distractors)
    parents = ws.to_pandas(["sample_id", "label", *cols]).set_index("sample_id")
    for row in nc.itertuples():
        a, b = (parents.loc[p] for p in row.parent_ids)
        assert a.label == b.label == row.label
        for c in ("pose_yaw_deg", "color_temp_k"):
            assert abs(a[c] + row.os_weight * (b[c] - a[c]) - getattr(row, c)) < 1e-6 * abs(
                a[c]) + 1e-9
    assert set(nc.bg_kind) <= set(parents.bg_kind.dropna())
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and " 0 new in the workspace" in again.output, again.output
    unknown = runner.invoke(app, ["oversample", "--table", "yaw", "-w", str(ws.root)])
    assert unknown.exit_code == 2 and "unknown attribute column(s) ['yaw']" in unknown.output
    # "More like this one": renders around an exemplar, each with it as the one parent.
    exemplar = ws.to_pandas(["sample_id", "pose_yaw_deg"],
                            [("gen_recipe", "==", "digits3d")]).iloc[0]
    like = runner.invoke(app, ["oversample", "--render", "--like", exemplar.sample_id,
                               "--n", "3", "-w", str(ws.root)])
    assert like.exit_code == 0 and "3 new in the workspace" in like.output, like.output
    near = ws.to_pandas(["parent_ids", "pose_yaw_deg", "oversample_kind"],
                        [("oversample_kind", "==", "perturb")])
    assert len(near) == 3 and all(list(p) == [exemplar.sample_id] for p in near.parent_ids)
    assert (abs(near.pose_yaw_deg - exemplar.pose_yaw_deg) < 30).all()  # 5 deg noise
    real_id = ws.to_pandas(["sample_id"], [("source", "==", "real")]).sample_id.iloc[0]
    bad = runner.invoke(app, ["oversample", "--render", "--like", real_id, "-w", str(ws.root)])
    assert bad.exit_code == 2 and "not rendered" in bad.output


@pytest.mark.parametrize("sampler, reference", [("smote-tomek", "SMOTETomek"),
                                                ("smote-enn", "SMOTEENN")])
def test_cleaning_samplers_match_imblearn_and_report_what_they_would_drop(sampler, reference):
    import imblearn.combine

    X, y = blobs(shift=1.0)
    made = oversample(X, y, sampler=sampler, random_state=0)
    ref = getattr(imblearn.combine, reference)(random_state=0)
    expected, _ = ref.fit_resample(X, y)
    cleaner = ref.tomek_ if sampler == "smote-tomek" else ref.enn_
    kept = cleaner.sample_indices_
    np.testing.assert_allclose(made.vectors, expected[(kept < len(X)).sum():], rtol=1e-6)
    assert sorted(made.removed.astype(int)) == sorted(set(range(len(X))) - set(kept))
    assert len(made.removed) > 0 and parents_reproduce(X, made) < 1e-5


def test_smote_nc_on_a_mixed_attribute_table():
    import pandas as pd
    from imblearn.over_sampling import SMOTENC

    from curator.oversample import oversample_table

    rng = np.random.default_rng(0)
    n = 300
    table = pd.DataFrame({"pose_yaw_deg": rng.uniform(-60, 60, n),
                          "color_temp_k": rng.uniform(3000, 7000, n),
                          "bg_kind": rng.choice(["flat", "texture"], n)})
    strata = np.array(["a"] * 260 + ["b"] * 40, dtype=object)
    out = oversample_table(table, strata, random_state=0)
    assert len(out) == 220 and (out.stratum == "b").all()
    nums = ["pose_yaw_deg", "color_temp_k"]
    a = table.loc[out.parent_a.astype(int), nums].to_numpy()
    b = table.loc[out.parent_b.astype(int), nums].to_numpy()
    np.testing.assert_allclose(a + out.weight.to_numpy()[:, None] * (b - a), out[nums],
                               rtol=1e-9)  # numbers on the parents' segment, in their units
    assert set(out.bg_kind) <= {"flat", "texture"}
    # The same rows as imbalanced-learn's SMOTE-NC on the z-scored table.
    z = (table[nums] - table[nums].mean()) / table[nums].std(ddof=0)
    ref, _ = SMOTENC(categorical_features=[2], random_state=0).fit_resample(
        pd.concat([z, table[["bg_kind"]]], axis=1), strata)
    expected = ref.iloc[n:].reset_index(drop=True)
    np.testing.assert_allclose(expected[nums].astype(float) * table[nums].std(ddof=0)
                               + table[nums].mean(), out[nums], rtol=1e-6)
    assert (expected.bg_kind.to_numpy() == out.bg_kind.to_numpy()).all()
    # Numbers only: plain SMOTE on the z-scored columns; categories only: a clear error.
    only = oversample_table(table[nums], strata, random_state=0)
    ref, _ = SMOTE(random_state=0).fit_resample(z, strata)
    np.testing.assert_allclose(ref.iloc[n:][nums].to_numpy() * table[nums].std(ddof=0).to_numpy()
                               + table[nums].mean().to_numpy(), only[nums], rtol=1e-6)
    with pytest.raises(AnalysisError, match="nothing to interpolate"):
        oversample_table(table[["bg_kind"]], strata)


# -- the imbalanced-learn overrides, held to imbalanced-learn's public samplers ---------------
def _drawn_rows(model, X, y):
    """New rows rebuilt from what a recording sampler says it drew (class, base, partner, w)."""
    rows = []
    for code, base, partner, steps in model.generated_:
        members = X[y == code]
        if isinstance(model, BorderlineSMOTE):
            from curator.oversample_imblearn import danger_rows

            codes = y
            danger = members[danger_rows(model, X, codes, code)]
            rows.append(danger[base] + steps[:, None] * (members[partner] - danger[base]))
        else:
            rows.append(members[base] + steps[:, None] * (members[partner] - members[base]))
    return np.concatenate(rows)


@pytest.mark.parametrize("name, kwargs", [
    ("SMOTE", {}), ("ADASYN", {}), ("BorderlineSMOTE", {"kind": "borderline-1"}),
    ("BorderlineSMOTE", {"kind": "borderline-2"})])
def test_every_override_makes_imblearns_own_rows_for_the_same_seed(name, kwargs):
    import imblearn.over_sampling

    from curator import oversample_imblearn

    X, labels = blobs(shift=1.0)
    y = np.where(labels == "a", 0, 1)
    public = getattr(imblearn.over_sampling, name)(random_state=5, **kwargs)
    expected, expected_y = public.fit_resample(X, y)
    ours = getattr(oversample_imblearn, f"Recording{name}")(random_state=5, **kwargs)
    ours.generated_, ours.names_ = [], np.array(["a", "b"], dtype=object)
    got, got_y = ours.fit_resample(X, y)
    if name == "BorderlineSMOTE":  # imblearn's own _fit_resample: the input comes first
        got, got_y = got[len(X):], got_y[len(X):]
    # Same draws in the same order: the very same bytes, not merely close.
    assert np.array_equal(got, expected[len(X):]) and np.array_equal(got_y, expected_y[len(X):])
    if kwargs.get("kind") != "borderline-2":  # kind 2 also steps towards other classes
        np.testing.assert_allclose(_drawn_rows(ours, X, y), got, rtol=1e-5, atol=1e-5)


def test_smote_nc_override_makes_imblearns_own_rows_and_records_its_draws():
    from imblearn.over_sampling import SMOTENC

    from curator.oversample_imblearn import RecordingSMOTENC

    rng = np.random.default_rng(2)
    table = pd.DataFrame({"x": rng.normal(size=200), "y": rng.normal(size=200),
                          "kind": rng.choice(["p", "q", "r"], 200)})
    strata = np.array([0] * 160 + [1] * 40)
    expected, _ = SMOTENC(categorical_features=[2], random_state=4).fit_resample(table, strata)
    ours = RecordingSMOTENC(categorical_features=[2], random_state=4)
    ours.generated_ = []
    got, _ = ours.fit_resample(table, strata)
    pd.testing.assert_frame_equal(got, expected)
    (code, base, partner, steps), = ours.generated_
    members = table[strata == code][["x", "y"]].to_numpy()
    np.testing.assert_allclose(members[base] + steps[:, None] * (members[partner] - members[base]),
                               got.iloc[len(table):][["x", "y"]].to_numpy(float), rtol=1e-9)


def test_danger_rows_are_borderline_smotes_own_rule_recomputed_by_brute_force():
    from curator.oversample_imblearn import RecordingBorderlineSMOTE, danger_rows

    X, labels = blobs(shift=1.0)
    y = np.where(labels == "a", 0, 1)
    model = RecordingBorderlineSMOTE(random_state=0)
    model.generated_ = []
    model.fit_resample(X, y)
    minority = np.flatnonzero(y == 1)
    d = ((X[minority, None, :] - X[None, :, :]) ** 2).sum(-1)
    nearest = np.argsort(d, axis=1, kind="stable")[:, 1:11]  # m = 10, self excluded
    n_other = (y[nearest] != 1).sum(axis=1)
    expected = np.flatnonzero((n_other >= 5) & (n_other < 10))
    assert np.array_equal(np.flatnonzero(danger_rows(model, X, y, 1)), expected)
    assert len(expected) > 0


def test_pyproject_pins_imblearn_to_the_releases_the_overrides_mirror():
    from pathlib import Path

    import imblearn
    from packaging.specifiers import SpecifierSet

    from curator.oversample_imblearn import IMBLEARN_MIRRORED

    pyproject = (Path(__file__).parents[1] / "pyproject.toml").read_text()
    assert f'"imbalanced-learn{IMBLEARN_MIRRORED}",' in pyproject  # tomllib: Python 3.11+
    assert imblearn.__version__ in SpecifierSet(IMBLEARN_MIRRORED)


# -- the estimators ----------------------------------------------------------------------------
def test_samplers_are_estimators_with_params_clone_and_provenance():
    from sklearn.base import clone

    from curator.oversample import OVERSAMPLERS, SAMPLERS, SMOTENCOversampler

    assert tuple(OVERSAMPLERS) == SAMPLERS
    for name, cls in OVERSAMPLERS.items():
        model = cls(k_neighbors=3, random_state=2)
        assert model.get_params() == {"k_neighbors": 3, "random_state": 2,
                                      "sampling_strategy": "auto"}
        assert clone(model.set_params(sampling_strategy=0.5)).get_params()[
            "sampling_strategy"] == 0.5 and model.sampler == name
    table = SMOTENCOversampler(["bg"], k_neighbors=2)
    assert table.get_params()["categorical"] == ["bg"] and clone(table).k_neighbors == 2


@pytest.mark.parametrize("sampler", ["smote", "borderline", "adasyn", "smote-tomek",
                                     "smote-enn"])
def test_fit_resample_is_the_input_then_oversamples_rows_and_fit_records_them(sampler):
    from curator.oversample import OVERSAMPLERS

    X, y = blobs(shift=1.0)
    ids = [f"s{i}" for i in range(len(X))]
    made = oversample(X, y, ids=ids, sampler=sampler, random_state=1)
    model = OVERSAMPLERS[sampler](random_state=1)
    X_res, y_res = model.fit_resample(X, y, ids=ids)
    assert model.oversampled_.to_dict() == made.to_dict()  # the very same code and draws
    assert np.array_equal(X_res, np.vstack([X, made.vectors]))
    assert list(y_res) == list(y) + list(made.frame.stratum)
    a, b = model.parents_.T
    assert list(np.asarray(ids)[a]) == list(made.frame.parent_a)
    assert list(np.asarray(ids)[b]) == list(made.frame.parent_b)
    np.testing.assert_allclose(X[a] + model.weights_[:, None] * (X[b] - X[a]), made.vectors,
                               atol=1e-5)
    assert list(np.asarray(ids)[model.removed_]) == list(made.removed)
    assert set(model.sampling_strategy_) == {"b"}
    if sampler == "smote":  # imblearn's whole output, input rows included
        expected, expected_y = SMOTE(random_state=1).fit_resample(X, y)
        np.testing.assert_allclose(X_res, expected, rtol=1e-6)
        assert list(y_res) == list(expected_y)


def test_a_bad_k_neighbors_is_refused_by_name():
    from curator.oversample import SMOTEOversampler

    X, y = blobs()
    with pytest.raises(AnalysisError, match="k_neighbors must be a positive integer, got 0"):
        SMOTEOversampler(k_neighbors=0).fit(X, y)
    with pytest.raises(AnalysisError, match="k_neighbors must be"):
        oversample(X, y, k_neighbors=2.5)


def test_smote_nc_estimator_matches_oversample_table_and_resamples_the_table():
    from curator.oversample import SMOTENCOversampler, oversample_table

    rng = np.random.default_rng(0)
    table = pd.DataFrame({"yaw": rng.uniform(-60, 60, 120), "kind": rng.choice(["p", "q"], 120)})
    strata = np.array(["a"] * 90 + ["b"] * 30, dtype=object)
    out = oversample_table(table, strata, random_state=2)
    model = SMOTENCOversampler(random_state=2)
    X_res, y_res = model.fit_resample(table, strata)
    pd.testing.assert_frame_equal(model.oversampled_, out)
    pd.testing.assert_frame_equal(X_res.iloc[len(table):].reset_index(drop=True),
                                  out[["yaw", "kind"]])
    assert list(y_res) == list(strata) + ["b"] * 60
    a, b = model.parents_.T
    np.testing.assert_allclose(table.yaw.to_numpy()[a] + model.weights_ * (
        table.yaw.to_numpy()[b] - table.yaw.to_numpy()[a]), out.yaw, rtol=1e-9)
    assert list(out.parent_a) == [str(i) for i in a]


# -- results that reload -----------------------------------------------------------------------
def test_oversampled_round_trips_and_shows_itself(tmp_path):
    from curator.oversample import Oversampled

    X, y = blobs(shift=1.0)
    made = oversample(X, y, sampler="smote-tomek", random_state=0)
    again = Oversampled.from_dict(made.to_dict())
    assert again.to_dict() == made.to_dict() and again.vectors.dtype == np.float32
    assert np.array_equal(again.vectors, made.vectors)
    assert Oversampled.load(made.save(tmp_path / "made.json")).to_dict() == made.to_dict()
    assert list(made.to_frame().columns) == ["stratum", "parent_a", "parent_b", "weight"]
    shown = made._repr_html_()
    assert f"oversampled: {len(made)} new row(s)" in shown and "first 20" in shown
    assert shown.count("<td>b</td>") == 20 and "would drop" in shown
    empty = oversample(X, y, sampling_strategy=AtLeast(10))
    assert Oversampled.from_dict(empty.to_dict()).to_dict() == empty.to_dict()


def test_oversample_summary_round_trips_and_shows_itself(tmp_path):
    from curator.workflows.oversample import OversampleSummary

    summary = OversampleSummary("pixels", "label", "smote", "abc", 5, 3, {"label=1": 5},
                                ["label=2 (1)"], ["s1"])
    again = OversampleSummary.from_dict(summary.to_dict())
    assert again == summary and str(again) == str(summary)
    assert OversampleSummary.load(summary.save(tmp_path / "summary.json")) == summary
    assert summary.to_frame().loc["written", "value"] == 3
    assert "oversample smote on pixels" in summary._repr_html_()


def test_fit_resample_keeps_the_input_rows_and_dtype_like_imblearn():
    from curator.oversample import SMOTEOversampler

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))  # float64, no ties
    y = np.array(["a"] * 50 + ["b"] * 10)
    X_res, y_res = SMOTEOversampler(random_state=3).fit_resample(X, y)
    ref_X, ref_y = SMOTE(random_state=3).fit_resample(X, y)
    assert X_res.dtype == ref_X.dtype == np.float64
    assert (X_res[:60] == X).all()  # the input rows exactly as given
    np.testing.assert_allclose(X_res, ref_X, atol=1e-6)  # new rows made in float32
    assert y_res.tolist() == ref_y.tolist()
