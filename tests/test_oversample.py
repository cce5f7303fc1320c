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
