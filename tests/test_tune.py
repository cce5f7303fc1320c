"""``curator tune``: the objective, the search space, the study on disk and the CLI.

The case: "real" samples are renders of a small digits recipe lit brightly (intensity in
[7.5, 8]); the tune starts from the same recipe lit dimly ([0.5, 1]) and may move only the
intensity. A few trials must find a lower objective, and a range nearer the truth.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
import yaml
from typer.testing import CliRunner

from curator.cli import app
from curator.embed import PixelEmbedder, embed_workspace
from curator.hashing import text_id
from curator.store import Workspace, init_workspace, open_workspace
from curator.tuning import POOLED, ObjectiveConfig, gap_objective
from curator.workflows.tune import SUMMARY, TuneConfig, TuneError, tune_recipe
from generators.recipe import BUILTIN_RECIPES, load_recipe
from generators.run import generate
from generators.search_space import (
    recipe_yaml,
    search_space,
    tuned_recipe,
    tuned_recipe_data,
)

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"size": 16, "output": {"size": 8}}
TRUTH = {**SMALL, "randomizers": {"lighting": {"intensity": [7.5, 8.0]}}}
START = {**SMALL, "randomizers": {"lighting": {"intensity": [0.5, 1.0]}}}
N_PER_TRIAL = 48


def _write_recipe(path: Path, overrides: dict) -> Path:
    path.write_text(recipe_yaml(tuned_recipe_data("digits3d", overrides)))
    return path


@pytest.fixture(scope="module")
def base_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real train digits (bright renders, relabelled real), 8 real test rows, a pixels
    embedding fitted on the real rows, and the dim start recipe at ``start.yaml``."""
    root = tmp_path_factory.mktemp("tune")
    scratch = init_workspace(root / "scratch")
    generate(scratch, load_recipe("digits3d", TRUTH), 168, seed=100, workers=1)
    rows = scratch.to_table()
    split = pa.array(["train"] * 160 + ["test"] * 8)
    rows = rows.set_column(rows.schema.get_field_index("source"), "source",
                           pa.array(["real"] * rows.num_rows))
    rows = rows.set_column(rows.schema.get_field_index("split"), "split", split)
    ws = init_workspace(root / "ws")
    ws.append_samples(rows)
    embed_workspace(ws, PixelEmbedder(size=8, n_components=12), name="pixels",
                    filters=[("source", "==", "real")])
    _write_recipe(root / "start.yaml", START)
    return root


@pytest.fixture
def ws_copy(base_ws: Path, tmp_path: Path) -> Workspace:
    shutil.copytree(base_ws / "ws", tmp_path / "ws")
    shutil.copy(base_ws / "start.yaml", tmp_path / "start.yaml")
    return open_workspace(tmp_path / "ws")


def _config(ws: Workspace, **kw) -> TuneConfig:
    defaults = {"recipe": str(ws.root.parent / "start.yaml"), "params": ("lighting.intensity",),
                "n_per_trial": N_PER_TRIAL, "widen": 16.0, "seed": 3}
    return TuneConfig(**{**defaults, **kw})


# -- the objective -----------------------------------------------------------------------------
def test_objective_orders_shifted_sets_and_scores_labels():
    rng = np.random.default_rng(0)
    real, labels = rng.normal(size=(400, 8)), rng.integers(0, 3, 400)
    scores = [gap_objective(real, rng.normal(size=(120, 8)) + shift, labels,
                            rng.integers(0, 3, 120)) for shift in (0.0, 0.5, 2.0)]
    assert scores[0].objective < scores[1].objective < scores[2].objective
    assert abs(scores[0].objective) < 0.3 and scores[2].objective > 1.5
    table = scores[1].scores
    assert table["label"].tolist() == ["0", "1", "2", POOLED]
    assert np.isclose(scores[1].objective, table["term"].iloc[:3].mean())
    assert (table["auc_lo"] <= table["auc"]).all() and (table["auc"] <= table["auc_hi"]).all()
    assert type(scores[1]).from_dict(scores[1].to_dict()).objective == scores[1].objective


def test_objective_without_enough_per_label_uses_all_samples():
    rng = np.random.default_rng(1)
    real, fake = rng.normal(size=(50, 4)), rng.normal(size=(40, 4)) + 1
    score = gap_objective(real, fake, ["a"] * 50, ["b"] * 40,
                          ObjectiveConfig(min_per_label=5))
    assert score.scores["label"].tolist() == [POOLED]
    assert score.objective == score.scores["term"].iloc[0]


# -- the search space and the tuned recipe ---------------------------------------------------
@pytest.mark.parametrize("name", BUILTIN_RECIPES)
def test_unchanged_values_write_back_the_same_recipe(name, tmp_path):
    import optuna

    recipe = load_recipe(name)
    for names in (None, ["background.kinds", "materials.texture_prob", "materials.hue"]):
        space = search_space(recipe, names)
        values = space.suggest(optuna.trial.FixedTrial(space.start_params()))
        assert values == space.start_values()
        assert space.overrides(values) == {}
        path = tmp_path / f"{name}.yaml"
        path.write_text(recipe_yaml(tuned_recipe_data(name, {}), "header"))
        assert load_recipe(path).config_hash == recipe.config_hash


def test_changed_values_round_trip_through_yaml(tmp_path):
    recipe = load_recipe("digits3d")
    space = search_space(recipe, ["lighting", "background.kinds"], widen=2.0)
    import optuna

    params = {**space.start_params(), "lighting.intensity.centre": 9.123456,
              "lighting.count.width": 0.0, "background.kinds": "flat+texture"}
    values = space.suggest(optuna.trial.FixedTrial(params))
    changed = space.overrides(values)
    assert changed["randomizers"]["lighting"]["intensity"] == [6.623, 11.62]
    assert changed["randomizers"]["background"]["kinds"] == ["flat", "texture"]
    path = tmp_path / "t.yaml"
    path.write_text(recipe_yaml(tuned_recipe_data("digits3d", changed)))
    loaded = load_recipe(path)
    assert loaded.config_hash == tuned_recipe("digits3d", changed).config_hash
    assert loaded.params("lighting")["intensity"]["range"] == [6.623, 11.62]


def test_search_space_names_bad_params():
    from generators.errors import RecipeError

    recipe = load_recipe("digits3d")
    with pytest.raises(RecipeError, match="did you mean 'lighting'"):
        search_space(recipe, ["lightning.intensity"])
    with pytest.raises(RecipeError, match="off in recipe"):
        search_space(recipe, ["occluders.count"])
    with pytest.raises(RecipeError, match="no parameter 'intensty'"):
        search_space(recipe, ["lighting.intensty"])


# -- the study -------------------------------------------------------------------------------
def test_tune_finds_the_bright_range_and_leaves_samples_alone(ws_copy):
    before = ws_copy.samples.count()
    result = tune_recipe(ws_copy, _config(ws_copy), trials=4, workers=1)
    assert ws_copy.samples.count() == before  # trial renders never join the samples
    assert not list(Path(result.study_dir).glob("scratch-*"))
    frame = result.trials
    assert frame["index"].tolist() == [0, 1, 2, 3]
    assert frame.loc[0, "lighting.intensity.lo"] == 0.5  # trial 0: the recipe as given
    assert result.best_objective < result.baseline_objective
    best = frame.loc[frame["objective"].idxmin()]
    centre = (best["lighting.intensity.lo"] + best["lighting.intensity.hi"]) / 2
    assert abs(centre - 7.75) < abs(0.75 - 7.75)
    assert result.after["objective"] < result.before["objective"]
    for side in (result.before, result.after):
        assert side["auc_lo"] <= side["auc"] <= side["auc_hi"]
    assert result.importances == {"lighting.intensity": pytest.approx(1.0)}
    tuned = load_recipe(result.tuned_recipe)
    assert tuned.params("lighting")["intensity"]["range"] == [best["lighting.intensity.lo"],
                                                              best["lighting.intensity.hi"]]
    again = type(result).from_dict(result.to_dict())
    assert again.trials.equals(result.trials) and again.after == result.after
    summary = json.loads((Path(result.study_dir) / SUMMARY).read_text())
    assert [t["index"] for t in summary["trials"]] == [0, 1, 2, 3]
    assert {"objective", "seed", "auc", "auc_lo", "kid", "kid_hi",
            "lighting.intensity.lo"} <= set(summary["trials"][0])
    stopped = tune_recipe(ws_copy, _config(ws_copy), trials=10, budget_seconds=0, workers=1)
    assert (stopped.stopped, stopped.n_trials) == ("budget", 4)


def test_cmaes_sampler_runs_and_resumes_alike(base_ws, tmp_path):
    frames = []
    for name, steps in (("whole", (4,)), ("resumed", (2, 4))):
        shutil.copytree(base_ws / "ws", tmp_path / name / "ws")
        shutil.copy(base_ws / "start.yaml", tmp_path / name / "start.yaml")
        ws = open_workspace(tmp_path / name / "ws")
        for trials in steps:
            result = tune_recipe(ws, _config(ws, sampler="cmaes", n_per_trial=24),
                                 trials=trials, workers=1)
        frames.append(result.trials.drop(columns=["seconds", "number"]))
    assert frames[0].equals(frames[1])


def test_resumed_study_equals_an_uninterrupted_one(base_ws, tmp_path):
    runs = {}
    for name, steps in (("whole", (6,)), ("resumed", (2, 6))):
        shutil.copytree(base_ws / "ws", tmp_path / name / "ws")
        shutil.copy(base_ws / "start.yaml", tmp_path / name / "start.yaml")
        ws = open_workspace(tmp_path / name / "ws")
        for trials in steps:
            result = tune_recipe(ws, _config(ws), trials=trials, workers=1)
        runs[name] = result.trials.drop(columns=["seconds", "number"])
    assert runs["whole"].equals(runs["resumed"])
    assert len(runs["whole"]) == 6


def test_killed_study_resumes_to_the_same_trials(base_ws, tmp_path):
    """A run killed with SIGKILL mid-study, then re-run, equals an uninterrupted one."""
    shutil.copytree(base_ws / "ws", tmp_path / "ws")
    shutil.copy(base_ws / "start.yaml", tmp_path / "start.yaml")
    args = [sys.executable, "-m", "curator", "tune", str(tmp_path / "start.yaml"), "-w",
            str(tmp_path / "ws"), "-e", "pixels", "--params", "lighting.intensity",
            "--n-per-trial", str(N_PER_TRIAL), "--widen", "16", "--seed", "3",
            "--trials", "5", "--workers", "1"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    summaries = []
    while time.monotonic() < deadline and proc.poll() is None:
        summaries = list((tmp_path / "ws" / "tune").glob(f"*/{SUMMARY}"))
        if summaries and len(yaml.safe_load(summaries[0].read_text())["trials"]) >= 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None, proc.stderr.read().decode()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    subprocess.run(args, env=env, check=True, capture_output=True)
    ws = open_workspace(tmp_path / "ws")
    killed = tune_recipe(ws, _config(ws), trials=5, workers=1).trials
    shutil.copytree(base_ws / "ws", tmp_path / "fresh" / "ws")
    shutil.copy(base_ws / "start.yaml", tmp_path / "fresh" / "start.yaml")
    fresh_ws = open_workspace(tmp_path / "fresh" / "ws")
    whole = tune_recipe(fresh_ws, _config(fresh_ws), trials=5, workers=1).trials
    cols = ["index", "objective", "seed", "lighting.intensity.lo", "lighting.intensity.hi"]
    assert killed[cols].equals(whole[cols])


def test_held_out_and_synthetic_selections_are_refused(ws_copy):
    with pytest.raises(TuneError, match="held-out"):
        tune_recipe(ws_copy, _config(ws_copy, to=(("source", "==", "real"),)), trials=1)
    ws_copy.append_samples(_synthetic(ws_copy))
    with pytest.raises(TuneError, match="not real"):
        tune_recipe(ws_copy, _config(ws_copy, to=(("split", "==", "train"),)), trials=1)
    with pytest.raises(TuneError, match="selects no samples"):
        tune_recipe(ws_copy, _config(ws_copy, to=(("label", "==", "nope"),)), trials=1)


def _synthetic(ws: Workspace) -> pa.Table:
    rows = ws.to_table(filters=pc.field("split") == "train").slice(0, 2)
    ids = pa.array([text_id("syn", str(i)) for i in range(2)])
    rows = rows.set_column(rows.schema.get_field_index("sample_id"), "sample_id", ids)
    return rows.set_column(rows.schema.get_field_index("source"), "source",
                           pa.array(["synthetic"] * 2))


def test_cli_tunes_and_generate_reads_the_tuned_recipe(ws_copy, tmp_path):
    out = tmp_path / "tuned.yaml"
    runner = CliRunner()
    res = runner.invoke(app, ["tune", str(ws_copy.root.parent / "start.yaml"), "-w",
                              str(ws_copy.root), "--to", "source == 'real' and split == 'train'",
                              "--params", "lighting.intensity", "--n-per-trial", "24",
                              "--trials", "2", "--widen", "16", "--workers", "1",
                              "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "before (recipe as given)" in res.output and "C2ST AUC" in res.output
    before = ws_copy.samples.count()
    res = runner.invoke(app, ["generate", str(out), "--n", "4", "--workers", "1", "-w",
                              str(ws_copy.root)])
    assert res.exit_code == 0, res.output
    assert ws_copy.samples.count() == before + 4
    res = runner.invoke(app, ["tune", "digits3d", "-w", str(ws_copy.root), "--to",
                              "split == 'test'", "--trials", "1"])
    assert res.exit_code == 2 and "held-out" in res.output


def test_tune_help_explains_the_objective():
    res = CliRunner().invoke(app, ["tune", "--help"])
    assert res.exit_code == 0
    text = " ".join(res.output.split())
    for words in ("2 AUC - 1", "--trials", "--budget-seconds", "--seed", "--params",
                  "--to", "kill -9"):
        assert words in text
