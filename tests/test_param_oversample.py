"""Parameter-space oversampling: interpolations and perturbations of recorded generator
parameters, rendered for real (digits3d, small) with their parents and weights."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from curator import init_workspace, open_workspace
from curator.stats import AnalysisError
from curator.workflows.param_oversample import (
    PARAM_COLUMNS,
    interpolate_parameters,
    perturb_parameters,
    pin_overrides,
    render_parameter_rows,
)
from generators.errors import RecipeError
from generators.recipe import RANDOMIZERS, load_recipe
from generators.requests import COLUMN_PARAMS
from generators.run import generate

SMALL = {"size": 32}
K = 3


@pytest.fixture(scope="module")
def minority(tmp_path_factory):
    """A workspace with 8 rendered digits3d samples of label 3, and their rows."""
    ws = init_workspace(tmp_path_factory.mktemp("param") / "ws")
    recipe = load_recipe("digits3d", {**SMALL, "scene": {"objects": {"query": {"labels": ["3"]}}}})
    generate(ws, recipe, 8, seed=0, workers=1)
    return ws, ws.to_pandas().sort_values("gen_index").reset_index(drop=True)


def _params(rows: pd.DataFrame) -> list[str]:
    return [c for c in rows.columns if c in PARAM_COLUMNS]


def _is_int(column: str) -> bool:
    group, name = COLUMN_PARAMS[column]
    return RANDOMIZERS[group][name].kind == "int"


def _check_between_parents(rows: pd.DataFrame, parents: pd.DataFrame) -> None:
    """Each value is a + w (b - a) of its parents' values (numbers recomputed here)."""
    by_id = parents.set_index("sample_id")
    assert rows["weight"].between(0, 1).all()
    for column in _params(rows):
        a = by_id.loc[rows["parent_a"], column].to_numpy(float)
        b = by_id.loc[rows["parent_b"], column].to_numpy(float)
        expected = a + rows["weight"].to_numpy() * (b - a)
        got = rows[column].to_numpy(float)
        if _is_int(column):
            np.testing.assert_array_equal(got, np.rint(expected), err_msg=column)
        else:  # digits3d angles stay far from +-180, so the shortest arc is the straight line
            np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9, err_msg=column)
        assert (got >= np.minimum(a, b) - 1e-9).all() and (got <= np.maximum(a, b) + 1e-9).all()


def test_interpolated_values_lie_between_neighbouring_parents(minority):
    _, frame = minority
    rows = interpolate_parameters(frame, 12, k_neighbors=K, random_state=1)
    assert len(rows) == 12
    assert set(rows["label"]) == {"3"} and set(rows["recipe"]) == {"digits3d"}
    assert "mat_hue" not in rows and "pose_yaw_deg" in rows and "color_temp_k" in rows
    _check_between_parents(rows, frame)
    # parent_b is among parent_a's K nearest (brute force on the z-scored columns)
    X = frame[_params(rows)].to_numpy(float)
    std = X.std(axis=0)
    Z = (X - X.mean(axis=0)) / np.where(std > 0, std, 1)
    d = ((Z[:, None] - Z[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    pos = {s: i for i, s in enumerate(frame["sample_id"])}
    for a, b in zip(rows["parent_a"], rows["parent_b"], strict=True):
        assert pos[b] in np.argsort(d[pos[a]], kind="stable")[:K]


def test_same_random_state_same_rows(minority):
    _, frame = minority
    one = interpolate_parameters(frame, 6, k_neighbors=K, random_state=4)
    two = interpolate_parameters(frame, 6, k_neighbors=K, random_state=4)
    other = interpolate_parameters(frame, 6, k_neighbors=K, random_state=5)
    pd.testing.assert_frame_equal(one, two)
    assert not one["weight"].equals(other["weight"])
    pd.testing.assert_frame_equal(perturb_parameters(frame, 2, random_state=3),
                                  perturb_parameters(frame, 2, random_state=3))


def test_rendered_samples_record_interpolations_of_their_parents(minority):
    ws, frame = minority
    rows = interpolate_parameters(frame, 3, k_neighbors=K, random_state=2)
    out = render_parameter_rows(ws, rows, overrides=SMALL, seed=7)
    assert out["written"].all() and out["sample_id"].notna().all()
    stored = ws.to_pandas().set_index("sample_id").loc[out["sample_id"]].reset_index()
    columns = _params(rows)
    # the render reproduces every requested parameter ...
    np.testing.assert_allclose(stored[columns].to_numpy(float), rows[columns].to_numpy(float),
                               rtol=0, atol=1e-9)
    # ... so the recorded parameters are interpolations of the parents' recorded ones
    recorded = stored[columns].assign(parent_a=[p[0] for p in stored["parent_ids"]],
                                      parent_b=[p[1] for p in stored["parent_ids"]],
                                      weight=stored["interp_weight"])
    _check_between_parents(recorded, frame)
    assert [list(p) for p in stored["parent_ids"]] == rows[["parent_a", "parent_b"]
                                                           ].values.tolist()
    assert set(stored["source"]) == {"synthetic"} and set(stored["label"]) == {"3"}
    assert set(stored["oversample_kind"]) == {"interpolate"}
    assert set(stored["gen_recipe"]) == {"digits3d"} and (stored["width"] == 8).all()
    # re-rendering the same rows resumes: nothing new, same ids
    before = len(ws.to_pandas(columns=["sample_id"]))
    again = render_parameter_rows(ws, rows, overrides=SMALL, seed=7)
    assert not again["written"].any()
    assert again["sample_id"].tolist() == out["sample_id"].tolist()
    assert len(ws.to_pandas(columns=["sample_id"])) == before


def test_perturbations_stay_in_bounds_and_render_around_the_exemplar(minority):
    ws, frame = minority
    exemplar = frame.iloc[:1]
    wild = perturb_parameters(exemplar, 50, scales={"cam_pitch_deg": 1000.0, "light_count": 50.0,
                                                    "color_temp_k": 0.0}, random_state=0)
    assert len(wild) == 50 and wild["weight"].isna().all()
    assert (wild["parent_a"] == exemplar["sample_id"].iloc[0]).all()
    assert (wild["parent_b"] == wild["parent_a"]).all()
    assert wild["cam_pitch_deg"].between(-89, 89).all()
    assert {-89.0, 89.0} <= set(wild["cam_pitch_deg"])  # clipped, not resampled
    assert wild["light_count"].between(1, 8).all() and wild["light_count"].dtype.kind == "i"
    assert (wild["color_temp_k"] == exemplar["color_temp_k"].iloc[0]).all()
    assert wild["pose_yaw_deg"].between(-180, 180).all()
    assert (wild["sensor_jpeg_quality"] == 0).all()  # default range is one value: kept

    rows = perturb_parameters(exemplar, 2, random_state=1)
    assert (rows["pose_yaw_deg"] != exemplar["pose_yaw_deg"].iloc[0]).all()
    out = render_parameter_rows(ws, rows, overrides=SMALL)
    stored = ws.to_pandas().set_index("sample_id").loc[out["sample_id"]]
    columns = _params(rows)
    np.testing.assert_allclose(stored[columns].to_numpy(float), rows[columns].to_numpy(float),
                               rtol=0, atol=1e-9)
    assert [list(p) for p in stored["parent_ids"]] == [[exemplar["sample_id"].iloc[0]]] * 2
    assert stored["interp_weight"].isna().all()
    assert set(stored["oversample_kind"]) == {"perturb"}


def test_full_circle_angles_take_the_shortest_arc():
    frame = pd.DataFrame({"sample_id": ["a", "b"], "label": "1", "gen_recipe": "digits3d",
                          "pose_yaw_deg": [170.0, -170.0], "cam_pitch_deg": [10.0, 40.0]})
    rows = interpolate_parameters(frame, 40, columns=["pose_yaw_deg"], k_neighbors=1)
    assert (rows["pose_yaw_deg"].abs() >= 170).all()  # across 180, never through 0
    assert (rows["pose_yaw_deg"] > 0).any() and (rows["pose_yaw_deg"] < 0).any()
    pitch = interpolate_parameters(frame, 40, columns=["cam_pitch_deg"], k_neighbors=1)
    assert pitch["cam_pitch_deg"].between(10, 40).all()  # bounded angles: straight line


def test_pinning_keeps_held_randomizers_held():
    recipe = load_recipe("digits3d")
    assert "distractors" not in recipe.enabled and "pose" in recipe.enabled
    row = {"pose_yaw_deg": 12.5, "n_distractors": 0, "light_count": 2, "label": "7"}
    overrides = pin_overrides(row, ["pose_yaw_deg", "n_distractors", "light_count"],
                              recipe.enabled)
    pinned = load_recipe("digits3d", overrides)
    assert pinned.enabled == recipe.enabled
    assert pinned.params("pose")["yaw_deg"]["range"] == [12.5, 12.5]
    assert pinned.params("lighting")["count"]["range"] == [2, 2]
    assert pinned.params("distractors")["count"]["held"] == 0
    assert pinned.config["scene"]["objects"]["query"]["labels"] == ["7"]


def test_bad_input_is_named(minority):
    _, frame = minority
    with pytest.raises(AnalysisError, match="k_neighbors \\+ 1 = 4"):
        interpolate_parameters(frame.iloc[:3], 2, k_neighbors=K)
    with pytest.raises(RecipeError, match="did you mean 'pose_yaw_deg'"):
        interpolate_parameters(frame, 2, columns=["pose_yaw"], k_neighbors=K)
    with pytest.raises(RecipeError, match="mat_hue"):
        interpolate_parameters(frame, 2, columns=["mat_hue"], k_neighbors=K)
    mixed = frame.assign(gen_recipe=["digits3d"] * 4 + ["objects"] * 4)
    with pytest.raises(RecipeError, match="mixes recipes"):
        interpolate_parameters(mixed, 2, k_neighbors=K)
    with pytest.raises(AnalysisError, match="mixes labels"):
        interpolate_parameters(frame.assign(label=list("33334444")), 2, k_neighbors=K)
    with pytest.raises(RecipeError, match="not among the columns"):
        perturb_parameters(frame, 1, columns=["pose_yaw_deg"], scales={"cam_yaw_deg": 1.0})
    with pytest.raises(AnalysisError, match="n must be"):
        interpolate_parameters(frame, -1, k_neighbors=K)


def test_parameter_rows_render_the_same_bytes_on_a_pool_and_on_ray(minority, tmp_path,
                                                                    monkeypatch):
    """Many one-sample pinned runs are packed into executor tasks; whichever runs them, the
    stored rows are the ones rendered in this process."""
    import shutil

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    src, frame = minority
    rows = interpolate_parameters(frame, 40, k_neighbors=K, random_state=9)
    runs = {"here": {"workers": 1}, "pool": {"workers": 2}}
    if __import__("importlib").util.find_spec("ray"):
        runs["ray"] = {"workers": 2, "executor": "ray"}
    stored = {}
    for name, kw in runs.items():
        root = tmp_path / name
        shutil.copytree(src.root, root)
        ws = open_workspace(root)
        out = render_parameter_rows(ws, rows, overrides=SMALL, seed=5, **kw)
        assert out["written"].all() and out["sample_id"].notna().all()
        new = ws.to_pandas().set_index("sample_id").loc[out["sample_id"]]
        stored[name] = new.drop(columns=["ingested_at"]).reset_index()
    if "ray" in runs:
        import ray

        ray.shutdown()
    for name in runs:
        pd.testing.assert_frame_equal(stored[name], stored["here"])
    # the local pool got the 40 rows as two tasks, not 40
    from generators.run import _batches, _Job

    jobs = [_Job({}, (), (), None, None, [], str(i), "train", 0, indices=(0,)) for i in range(40)]
    assert [len(b) for b in _batches(jobs, 32)] == [32, 8]


def test_generate_many_counts_each_run_its_own_rows_and_refuses_clashing_extras(tmp_path):
    """Two runs of one recipe and seed share indices: each index renders once, for the
    first run asking, and the summaries say so. Other extra columns for the same samples
    would be dropped silently, so they are refused."""
    from generators.run import RunSpec, generate_many

    ws = init_workspace(tmp_path / "ws")
    recipe = load_recipe("digits3d", SMALL)
    first, second = generate_many(ws, [RunSpec(recipe, 2, 5), RunSpec(recipe, 4, 5)],
                                  workers=1)
    assert (first.rendered, first.written, first.already_present) == (2, 2, 0)
    assert (second.rendered, second.written, second.already_present) == (2, 2, 2)
    assert len(ws.to_pandas(columns=["sample_id"])) == 4
    with pytest.raises(RecipeError, match="other extra_columns"):
        generate_many(ws, [RunSpec(recipe, 1, 6), RunSpec(recipe, 1, 6, {"kind": "x"})])
    nan = [RunSpec(recipe, 1, 7, {"w": float("nan")}), RunSpec(recipe, 1, 7, {"w": float("nan")})]
    assert [s.written for s in generate_many(ws, nan, workers=1)] == [1, 0]
    for own in ("gen_seed", "gen_index", "visibility", "pose_yaw_deg"):
        with pytest.raises(RecipeError, match="records them itself"):
            generate(ws, recipe, 1, seed=8, extra_columns={own: 1})
    from curator.workflows.param_oversample import variations_workspace

    with pytest.raises(AnalysisError, match="at least one exemplar"):
        variations_workspace(ws, [], 3)


def test_counts_and_scales_are_checked_by_name(minority):
    _, frame = minority
    with pytest.raises(AnalysisError, match=r"scales\['pose_yaw_deg'\] must be a standard "
                                            r"deviation >= 0, got -1.0"):
        perturb_parameters(frame, 1, columns=["pose_yaw_deg"], scales={"pose_yaw_deg": -1.0})
    with pytest.raises(AnalysisError, match="n_per_sample must be a non-negative integer"):
        perturb_parameters(frame, 1.5)
    with pytest.raises(AnalysisError, match="k_neighbors must be a positive integer, got 0"):
        interpolate_parameters(frame, 2, k_neighbors=0)
    rows = perturb_parameters(frame, np.int64(2), columns=["pose_yaw_deg"],
                              scales={"pose_yaw_deg": np.float32(0.0)})
    assert len(rows) == 2 * len(frame) and (rows.pose_yaw_deg.to_numpy()
                                            == np.repeat(frame.pose_yaw_deg, 2)).all()
