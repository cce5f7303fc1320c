"""Ratio sweeps and ablations: scored on a real held-out split that no training mix touches,
deterministic, resumable, and right about when synthetic data helps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from curator.experiments import (
    ExperimentError,
    MixPoint,
    RunCache,
    SweepData,
    compare_synthetic_sets,
    fit_proxy,
    heldout_split,
    mix_points,
    mix_rows,
    plot_synthetic_helps,
    run_ablation,
    run_ratio_sweep,
    summarize_ablation,
    summarize_runs,
)


def world(shift: float, seed: int = 0, n_real: int = 150, n_syn: int = 300, dim: int = 8):
    """Three Gaussian classes; real samples (half held out as split 'test') and synthetic
    ones from the same class means, or with each class moved ``shift`` of the way towards
    the next class's mean (a generator whose classes look wrong)."""
    rng = np.random.default_rng(seed)
    means = rng.normal(0, 1.5, (3, dim))
    moved = means + shift * (np.roll(means, 1, axis=0) - means)

    def draw(n, m):
        y = np.repeat(np.arange(3), n // 3)
        return rng.normal(0, 1.2, (len(y), dim)) + m[y], y

    Xr, yr = draw(n_real, means)
    Xs, ys = draw(n_syn, moved)
    X = np.r_[Xr, Xs].astype(np.float32)
    frame = pd.DataFrame({"sample_id": [f"s{i:04d}" for i in range(len(X))],
                          "source": ["real"] * len(Xr) + ["synthetic"] * len(Xs),
                          "label": np.r_[yr, ys].astype(str), "split": "train",
                          "parent_ids": None})
    frame.loc[np.flatnonzero(np.arange(len(X)) < len(Xr))[::2], "split"] = "test"
    return frame, X


def sweep_data(frame, X, **kw):
    hold = heldout_split(frame, X, **kw)
    return SweepData(X, frame["label"].to_numpy(), frame["sample_id"].to_numpy(), hold,
                     frame["label"].to_numpy())


def sweep(frame, X, *, points, budgets=(9,), seeds=5, regimes=("mixed",), cache=None, **kw):
    data = sweep_data(frame, X)
    runs = run_ratio_sweep(data, (frame.source == "real").to_numpy(),
                           (frame.source == "synthetic").to_numpy(), budgets=list(budgets),
                           points=points, regimes=regimes, seeds=seeds, cache=cache, **kw)
    return data, runs


@pytest.mark.parametrize("shift, synthetic_wins", [(0.0, True), (0.8, False)])
def test_best_ratio_includes_synthetic_only_when_it_matches_the_real_data(shift,
                                                                           synthetic_wins):
    frame, X = world(shift)
    _, runs = sweep(frame, X, points=mix_points([0, 0.5, 1], [4]))
    result = summarize_runs(runs)
    rec = result.tables["recommendations"].iloc[0]
    points = result.tables["points"].set_index("point")
    if synthetic_wins:  # 3 real per class is tiny; 12 more from the same law help
        assert rec["best"] == "+4 synthetic per real" and rec["vs_real_only"] > 0.03
        assert "vs real only: synthetic" in rec["evidence"]
    else:  # a moved generator: real only is best, synthetic-only is far worse
        assert rec["best"] == "real share 1" and "real only is best" in rec["evidence"]
        assert points.loc["real share 0", "accuracy"] < points.loc["real share 1",
                                                                   "accuracy"] - 0.1
    assert result.finding("best_ratio") is not None
    assert set(result.tables["per_stratum"]["stratum"]) == {"0", "1", "2"}
    assert (points["seeds"] == 5).all() and (points["accuracy_lo"] <= points["accuracy"]).all()


def test_heldout_is_disjoint_from_every_training_mix_and_the_guard_refuses_leaks():
    frame, X = world(0.0)
    held = np.flatnonzero((frame.split == "test").to_numpy())
    # A synthetic near-copy of a held-out sample and an "augmented" child of another.
    X = np.r_[X, [X[held[0]] + 1e-4, X[held[1]] + 0.5]].astype(np.float32)
    extra = pd.DataFrame({"sample_id": ["near", "child"], "source": ["synthetic",
                                                                     "augmented"],
                          "label": [frame.label[held[0]], frame.label[held[1]]],
                          "split": "train",
                          "parent_ids": [None, [frame.sample_id[held[1]]]]})
    frame = pd.concat([frame, extra], ignore_index=True)
    data = sweep_data(frame, X)
    assert data.holdout.heldout.sum() == len(held) and "split 'test'" in data.holdout.how
    leak = data.holdout.leakage.set_index("sample_id")
    assert leak.loc["near", "heldout_id"] == frame.sample_id[held[0]]
    assert leak.loc["child", "reason"] == "derived from a held-out sample"
    real = (frame.source == "real").to_numpy()
    syn = (frame.source != "real").to_numpy()
    for point in mix_points([0, 0.25, 0.5, 1], [1, 4]):
        for seed in range(3):
            r, s = mix_rows(X, data.labels, real & data.holdout.trainable,
                            syn & data.holdout.trainable, point, 20, seed)
            rows = np.r_[r, s]
            assert not data.holdout.heldout[rows].any()
            assert not data.holdout.excluded[rows].any()
            assert not set(frame.sample_id[rows]) & set(frame.sample_id[held])
    with pytest.raises(ExperimentError, match="held-out or leaking sample"):
        data.check_disjoint(np.array([held[0], 5]))
    # Without a test split, a seeded stratified quarter of the real samples is held out.
    frame2 = frame.assign(split="train")
    auto = heldout_split(frame2, X, random_state=1)
    assert "25% of the real samples, stratified by label (seed 1)" in auto.how
    assert np.array_equal(auto.heldout, heldout_split(frame2, X, random_state=1).heldout)


def test_sweeps_are_deterministic_and_resume_from_the_cache(tmp_path):
    frame, X = world(0.0)
    points = mix_points([0, 0.5, 1], [2])
    _, first = sweep(frame, X, points=points, seeds=2, regimes=("mixed", "pretrain"),
                     cache=RunCache(tmp_path / "runs"))
    assert not first["cached"].any() and len(first) == 2 * 4 + 2 * 3  # pretrain: no 1.0
    files = sorted((tmp_path / "runs").glob("*.json"))
    assert len(files) == len(first)
    for f in files[::2]:  # an interrupted run: half the points done
        f.unlink()
    _, again = sweep(frame, X, points=points, seeds=2, regimes=("mixed", "pretrain"),
                     cache=RunCache(tmp_path / "runs"))
    assert again["cached"].sum() == len(files) - len(files[::2])
    _, fresh = sweep(frame, X, points=points, seeds=2, regimes=("mixed", "pretrain"))
    cols = [c for c in first.columns if c != "cached"]
    pd.testing.assert_frame_equal(first[cols], again[cols])
    pd.testing.assert_frame_equal(first[cols], fresh[cols])
    a, b = summarize_runs(first), summarize_runs(fresh)
    assert a.to_dict() == b.to_dict()


def test_pretrain_regime_fine_tunes_from_the_synthetic_weights():
    frame, X = world(0.8)
    real = (frame.source == "real").to_numpy() & (frame.split == "train").to_numpy()
    syn = (frame.source == "synthetic").to_numpy()
    y = frame.label.to_numpy()
    for model in ("logistic", "mlp"):
        mixed = fit_proxy(model, X[real], y[real], X[syn], y[syn], regime="mixed")
        pre = fit_proxy(model, X[real], y[real], X[syn], y[syn], regime="pretrain")
        assert pre.regime == "pretrain" and pre.note == ""
        assert (mixed.predict(X) != pre.predict(X)).any()  # not the same model
    partial = real & (y != "2")  # the real part lacks a label: trains as mixed, says so
    fallback = fit_proxy("logistic", X[partial], y[partial], X[syn], y[syn],
                         regime="pretrain")
    assert fallback.regime == "mixed" and "lacks labels" in fallback.note
    with pytest.raises(ExperimentError, match="model must be one of"):
        fit_proxy("svm", X[real], y[real], X[syn], y[syn])
    # Boosting re-bins on warm start, so its old trees would read the wrong bins: refused.
    with pytest.raises(ExperimentError, match="pretrain regime needs a model"):
        fit_proxy("hgb", X[real], y[real], X[syn], y[syn], regime="pretrain")


def test_weighted_regime_at_weight_one_is_the_mixed_regime_exactly():
    frame, X = world(0.0)
    _, runs = sweep(frame, X, points=mix_points([0, 0.5, 1], [4]), seeds=3,
                    regimes=("mixed", "weighted"), synthetic_weights=[1.0])
    weighted = runs[runs.regime == "weighted"].set_index(["point", "seed"])
    mixed = runs[runs.regime == "mixed"].set_index(["point", "seed"]).loc[weighted.index]
    # Real only and synthetic only have nothing to weigh against: not run as weighted.
    assert set(weighted.index.get_level_values("point")) == {"real share 0.5",
                                                              "+4 synthetic per real"}
    assert (weighted["synthetic_weight"] == 1.0).all()
    for col in ("accuracy", "balanced_accuracy", "train_digest", "n_real", "n_synthetic"):
        assert weighted[col].tolist() == mixed[col].tolist(), col
    assert weighted["per_stratum"].tolist() == mixed["per_stratum"].tolist()
    message = summarize_runs(runs).finding("best_ratio", "budget=9 regime=weighted").message
    assert "best is +4 synthetic per real (9 real + 36 synthetic at weight 1, the seeds' " \
        "median)" in message and "vs real only: synthetic" in message
    real = (frame.source == "real").to_numpy() & (frame.split == "train").to_numpy()
    syn = (frame.source == "synthetic").to_numpy()
    y = frame.label.to_numpy()
    for model in ("logistic", "mlp", "hgb"):  # each takes sample_weight in its fit
        one = fit_proxy(model, X[real], y[real], X[syn], y[syn], regime="weighted")
        plain = fit_proxy(model, X[real], y[real], X[syn], y[syn])
        light = fit_proxy(model, X[real], y[real], X[syn], y[syn], regime="weighted",
                          synthetic_weight=0.05)
        assert np.array_equal(one.predict(X), plain.predict(X))
        assert (light.predict(X) != plain.predict(X)).any(), model


def shifted_world():
    """Synthetic classes drawn 80% of the way towards the next class's mean: each carries the
    real class structure but mostly sits where another real class lives (mislabelled, yet
    informative about the shape of the classes)."""
    return world(0.8)


def test_weighted_regime_downweights_mislabelled_synthetic_and_beats_mixed():
    frame, X = shifted_world()
    _, runs = sweep(frame, X, points=mix_points([1], [10]), seeds=5,
                    regimes=("mixed", "weighted"))
    mean = runs[~runs.real_only].groupby("regime")["accuracy"].mean()
    chosen = runs.loc[runs.regime == "weighted", "synthetic_weight"]
    assert chosen.median() < 1 and mean["weighted"] > mean["mixed"] + 0.1
    result = summarize_runs(runs)
    rec = result.tables["recommendations"].set_index("regime")
    point = result.tables["points"].set_index(["regime", "point"]).loc[
        ("weighted", "+10 synthetic per real")]
    assert point["synthetic_weight"] == chosen.median()
    assert point["synthetic_weights"] == ", ".join(f"{w:g}" for w in chosen)
    assert "vs_real_only_lo" in rec and pd.isna(rec.loc["mixed", "synthetic_weight"])
    sweep_table = result.tables["weight_sweep"]
    assert sorted(sweep_table["weight"]) == sorted([1.0, 0.5, 0.2, 0.1, 0.05, 0.02])
    assert sweep_table["chosen_by_seeds"].sum() == 5 and (sweep_table["seeds"] == 5).all()
    again = type(result).from_dict(result.to_dict(max_rows=None))
    assert again.to_dict(max_rows=None) == result.to_dict(max_rows=None)


def test_the_chosen_weight_never_sees_heldout_rows_and_is_deterministic(tmp_path):
    frame, X = shifted_world()
    points = mix_points([0.5], [4])
    kw = {"points": points, "seeds": 3, "regimes": ("weighted",)}
    _, first = sweep(frame, X, cache=RunCache(tmp_path / "runs"), **kw)
    _, again = sweep(frame, X, cache=RunCache(tmp_path / "runs"), **kw)
    _, fresh = sweep(frame, X, **kw)
    assert again["cached"].all() and not first["cached"].any()
    cols = [c for c in first.columns if c != "cached"]
    pd.testing.assert_frame_equal(first[cols], again[cols])
    pd.testing.assert_frame_equal(first[cols], fresh[cols])
    # Every held-out label moved to the next class: scores fall, the chosen weights do not.
    held = (frame.split == "test").to_numpy()
    poisoned = frame.copy()
    poisoned.loc[held, "label"] = ((frame.label[held].astype(int) + 1) % 3).astype(str)
    _, bad = sweep(poisoned, X, **kw)
    w = first.regime == "weighted"
    assert first.loc[w, "synthetic_weight"].tolist() == bad.loc[w, "synthetic_weight"].tolist()
    assert first.loc[w, "weight_sweep"].tolist() == bad.loc[w, "weight_sweep"].tolist()
    assert bad.loc[w, "accuracy"].mean() < first.loc[w, "accuracy"].mean() - 0.3
    # Another grid is another run: the cache key holds it.
    _, other = sweep(frame, X, cache=RunCache(tmp_path / "runs"), synthetic_weights=[0.5],
                     **kw)
    assert not other.loc[other.regime == "weighted", "cached"].any()
    assert (other.loc[other.regime == "weighted", "synthetic_weight"] == 0.5).all()


def test_weighted_regime_checks_its_weights_and_the_model(monkeypatch):
    from curator.experiments import check_weights, proxy

    frame, X = world(0.0)
    for bad in ([0], [1.5], []):
        with pytest.raises(ExperimentError, match="synthetic weight"):
            check_weights(bad)
    with pytest.raises(ExperimentError, match="synthetic weights must be in"):
        sweep(frame, X, points=mix_points([1], [1]), regimes=("weighted",),
              synthetic_weights=[2])
    # An MLP before scikit-learn 1.7 takes no sample_weight: refused, not approximated.
    monkeypatch.setattr(proxy, "takes_sample_weight", lambda model: False)
    with pytest.raises(ExperimentError, match="mlp needs >= 1.7"):
        proxy.check_model_regimes("mlp", ["weighted"])


def test_a_label_without_synthetic_keeps_its_real_part_and_real_only_is_always_run():
    frame, X = world(0.0)
    keep = ~((frame.source == "synthetic") & (frame.label == "2")).to_numpy()
    frame, X = frame[keep].reset_index(drop=True), X[keep]
    data, runs = sweep(frame, X, points=mix_points([0.5], [1]), regimes=("pretrain",),
                       seeds=2)
    real = (frame.source == "real").to_numpy() & data.holdout.trainable
    syn = (frame.source == "synthetic").to_numpy() & data.holdout.trainable
    for point in mix_points([0.5], [1]):
        r, _ = mix_rows(X, data.labels, real, syn, point, 10, 0)
        assert "2" in set(data.labels[r])  # label 2 has no synthetic; its real samples stay
    ref = runs[runs.real_only]
    assert len(ref) == 2 and (ref.regime == "mixed").all()  # the reference, run anyway
    rec = summarize_runs(runs).tables["recommendations"]
    assert rec["vs_real_only"].notna().all()


def test_small_real_sets_hold_out_unstratified_and_short_ablation_arms_are_named():
    frame, X = world(0.0, n_real=12)
    small = frame.assign(split="train")
    hold = heldout_split(small, X, fraction=0.1)  # 2 held out, 3 labels: cannot stratify
    assert hold.heldout.sum() == 2 and "stratified" not in hold.how
    frame, X = world(0.0)
    data = sweep_data(frame, X)
    syn = (frame.source == "synthetic").to_numpy()
    arms = {"none": syn, "lighting": syn & (frame.label != "1").to_numpy()}
    real = (frame.source == "real").to_numpy()
    runs = run_ablation(data, real, arms, budget=9, synthetic_per_real=2, seeds=1)
    assert "lighting (label 1)" in runs.attrs["short"]
    assert (runs.set_index("arm").loc[["none", "lighting"], "n_synthetic"] == 12).all()
    with pytest.raises(ExperimentError, match=r"lack synthetic samples of every label"):
        run_ablation(data, real, {"none": syn, "pose": np.zeros(len(X), bool)}, budget=9,
                     seeds=1)


def test_bad_parameters_get_clear_errors():
    with pytest.raises(ExperimentError, match=r"real fractions must be in \[0, 1\]"):
        mix_points([1.5])
    with pytest.raises(ExperimentError, match="give real fractions"):
        mix_points([], [])
    assert mix_points([1], [0]) == [MixPoint("fraction", 1.0)]  # one real-only reference
    frame, X = world(0.0)
    with pytest.raises(ExperimentError, match="regime must be one of"):
        sweep(frame, X, points=mix_points([1]), regimes=("joint",))
    with pytest.raises(ExperimentError, match="need real labelled samples"):
        heldout_split(frame.assign(source="synthetic"), X)


def test_ablation_finds_the_randomizer_that_matters():
    """Arm 'lighting' (that randomizer held) is drawn from moved means: training on it hurts,
    so holding lighting matters; 'sensor' is the same law as the full recipe."""
    frame, X = world(0.0, n_syn=600)
    rng = np.random.default_rng(5)
    syn = np.flatnonzero((frame.source == "synthetic").to_numpy())
    arm = np.array(["none", "lighting", "sensor"])[np.arange(len(syn)) % 3]
    X[syn[arm == "lighting"]] += rng.normal(0, 4, (1, X.shape[1])).astype(np.float32)
    data = sweep_data(frame, X)
    arms = {a: np.isin(np.arange(len(X)), syn[arm == a]) for a in ("none", "lighting",
                                                                   "sensor")}
    runs = run_ablation(data, (frame.source == "real").to_numpy(), arms, budget=9,
                        synthetic_per_real=4, seeds=5)
    result = summarize_ablation(runs)
    table = result.tables["ablation"].set_index("arm")
    assert table.loc["lighting", "change_hi"] < 0 and table.loc["lighting", "against"] == "none"
    assert table.loc["sensor", "change_lo"] <= 0 <= table.loc["sensor", "change_hi"]
    assert table.loc["none", "against"] == "real only"
    assert result.finding("randomizer_matters", "lighting") is not None
    assert result.finding("randomizer_matters", "sensor") is None
    assert (table["n_synthetic"].drop("real only") == 36).all()  # every arm the same size


@pytest.fixture
def digits_mix_ws(tmp_path):
    from curator import init_workspace
    from curator.embed import PixelEmbedder, embed_workspace
    from curator.ingest import ingest, read_digits
    from generators.recipe import load_recipe
    from generators.run import generate

    ws = init_workspace(tmp_path / "ws")
    ingest(ws, read_digits(300))
    generate(ws, load_recipe("digits3d"), 60, seed=0, workers=1)
    embed_workspace(ws, PixelEmbedder(size=8, n_components=8), name="pixels")
    return ws


def test_cli_ratio_and_ablation_end_to_end_and_in_the_report(digits_mix_ws):
    from typer.testing import CliRunner

    from curator.cli import app
    from reports.build import ReportConfig, build_report

    ws, runner = digits_mix_ws, CliRunner()
    args = ["experiment", "ratio", "-w", str(ws.root), "--real-counts", "30,60",
            "--real-fractions", "0,0.5,1", "--synthetic-per-real", "1", "--seeds", "2",
            "--regime", "mixed,pretrain,weighted", "--synthetic-weights", "1,0.2"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "real held-out accuracy per mix" in first.output
    assert "budget 30, mixed: best is" in first.output and "0 from cache" in first.output
    assert "held out: the real samples of split 'test'" in first.output
    assert "budget 30, weighted: best is" in first.output and "synthetic_weights" in first.output
    assert "weighted: each run weighs its synthetic rows by the weight among 1, 0.2" \
        in first.output
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and "0 run(s) trained" in again.output, again.output
    # Ablation: the missing variants are rendered and embedded, plus an augmentation arm.
    abl = runner.invoke(app, ["experiment", "ablation", "digits3d", "-w", str(ws.root),
                              "--real-count", "30", "--generate", "10", "--augment", "1",
                              "--seeds", "2"])
    assert abl.exit_code == 0, abl.output
    assert "randomizations that matter" in abl.output and "augmented" in abl.output
    frame = ws.to_pandas(["source", "gen_ablated"])
    assert set(frame.gen_ablated.dropna()) >= {"none", "lighting", "materials", "camera"}
    assert (frame.source == "augmented").sum() > 0
    saved = sorted(p.name.split("-")[0] for p in (ws.root / "experiments").iterdir())
    assert saved == ["ablation", "ratio"]
    html = build_report(ws, ReportConfig(sections=("ablation",))).to_html()
    assert "Real:synthetic ratio sweep" in html and "Ablation on real held-out data" in html
    assert "No ratio experiments" not in html
    assert "weight_sweep" in html and "synthetic_weight" in html
    helps = build_report(ws, ReportConfig(sections=("synthetic_helps",))).to_html()
    assert "needs two or more ratio experiments" in helps
    # A second synthetic set (half the renders) on the same real data: compared per budget.
    half = runner.invoke(app, [*args[:5], "30", "--real-fractions", "1", "--seeds", "2",
                               "--synthetic-per-real", "1", "--synthetic-where",
                               "gen_index < 30"])
    assert half.exit_code == 0, half.output
    helps = build_report(ws, ReportConfig(sections=("synthetic_helps",))).to_html()
    assert "Does synthetic help?" in helps and "gen_index &lt; 30" in helps
    assert "points [" in helps and "needs two or more" not in helps
    helped = runner.invoke(app, ["experiment", "ratio", "--help"])
    assert "weighted" in helped.output and "--synthetic-weights" in helped.output
    for bad, message in ((["--real-fractions", "2"], "real fractions must be in"),
                         (["--model", "svm"], "model must be one of"),
                         (["--regime", "weighted", "--synthetic-weights", "0"],
                          "synthetic weights must be in"),
                         (["--real-counts", "ten"], "--real-counts must be")):
        out = runner.invoke(app, ["experiment", "ratio", "-w", str(ws.root), *bad])
        assert out.exit_code == 2 and message in out.output, out.output


def test_the_package_keeps_every_name_importable_from_curator_experiments():
    import curator.experiments as experiments
    from curator.experiments import data, mixes, plots, proxy, runs, summary

    for name in experiments.__all__:
        assert getattr(experiments, name) is not None, name
    assert experiments.heldout_split is data.heldout_split
    assert experiments.mix_rows is mixes.mix_rows and experiments.fit_proxy is proxy.fit_proxy
    assert experiments.RunCache is runs.RunCache and experiments.plot_sweep is plots.plot_sweep
    assert experiments.ExperimentSummary is summary.ExperimentSummary


def test_experiment_results_round_trip(tmp_path):
    from curator.experiments import ExperimentSummary, Holdout
    from curator.results import AnalysisResult

    frame, X = world(0.0)
    data, runs = sweep(frame, X, points=mix_points([0, 1], [1]), seeds=2)
    hold = data.holdout
    back = Holdout.from_dict(hold.to_dict())
    assert back.to_dict() == hold.to_dict()
    assert np.array_equal(back.trainable, hold.trainable) and back.how == hold.how
    assert back.to_frame().loc["heldout", "value"] == int(hold.heldout.sum())
    assert hold._repr_html_().startswith("<h4>held-out split</h4>")

    syn = (frame.source == "synthetic").to_numpy()
    arms = {"none": syn & (np.arange(len(X)) % 2 == 0), "sensor": syn & (np.arange(len(X))
                                                                         % 2 == 1)}
    ablation = summarize_ablation(run_ablation(data, (frame.source == "real").to_numpy(),
                                               arms, budget=9, seeds=2))
    for result in (summarize_runs(runs), ablation):
        full = result.to_dict(max_rows=None)
        again = AnalysisResult.from_dict(full)
        assert again.to_dict(max_rows=None) == full
        assert again.plot_fns == result.plot_fns and len(again.figures()) == 1

    done = ExperimentSummary("ratio", tmp_path / "ratio-abc", summarize_runs(runs), 4, 2,
                             ["a note"])
    loaded = ExperimentSummary.load(done.save(tmp_path / "summary.json"))
    assert loaded.to_dict() == done.to_dict()
    assert loaded.directory == done.directory and loaded.result.plot_fns == [
        done.result.plot_fns[0]]
    assert set(loaded.result.tables["points"].columns) == set(done.to_frame().columns)
    assert done._repr_html_().startswith("<h4>ratio experiment</h4>")


def _constructed_runs(gains: dict[int, float], seeds: int = 5) -> pd.DataFrame:
    """Runs of a sweep whose synthetic mix scores real only + ``gains[budget]`` (+ a seed
    wobble shared by both, so the paired difference is exact)."""
    rows = []
    for budget, gain in gains.items():
        for seed in range(seeds):
            base = 0.5 + budget / 1000 + 0.01 * seed
            rows.append({"regime": "mixed", "budget": budget, "point": "real only",
                         "kind": "fraction", "value": 1.0, "real_only": True, "seed": seed,
                         "n_real": budget, "n_synthetic": 0, "accuracy": base,
                         "per_stratum": {"0": base}})
            for regime, extra in (("mixed", 0.0), ("weighted", 0.01 * (seed % 2))):
                rows.append({"regime": regime, "budget": budget, "point": "+1/real",
                             "kind": "per_real", "value": 1.0, "real_only": False,
                             "seed": seed, "n_real": budget, "n_synthetic": budget,
                             "accuracy": base + gain + extra, "per_stratum": {"0": base}})
    return pd.DataFrame(rows)


def test_does_synthetic_help_pairs_each_set_with_real_only_per_budget():
    real = {"heldout": "h", "real": "r", "embedding_config": "e", "model": "logistic",
            "random_state": 0}
    default = summarize_runs(_constructed_runs({25: -0.05, 50: -0.02}))
    default.params = {**real, "synthetic": "d",
                      "synthetic_where": [["gen_recipe", "==", "digits3d"]]}
    tuned = summarize_runs(_constructed_runs({25: 0.04, 50: 0.0}))
    tuned.params = {**real, "synthetic": "t"}
    other = summarize_runs(_constructed_runs({25: 0.5}))  # other real data: not compared
    other.params = {**real, "real": "elsewhere", "synthetic": "x"}
    assert compare_synthetic_sets([default]) is None
    result = compare_synthetic_sets([default, tuned, other])
    curve = result.tables["curve"].set_index(["budget", "synthetic"])
    assert list(curve.index.get_level_values("synthetic").unique()) == [
        "real only", "gen_recipe == digits3d", "synthetic t"]
    ref = 0.5 + 25 / 1000 + 0.01 * np.arange(5)
    assert curve.loc[(25, "real only"), "accuracy"] == pytest.approx(ref.mean())
    # Best mix of the tuned set at 25: weighted (+0.04 and +0.01 on odd seeds), paired.
    gain = 0.04 + 0.01 * (np.arange(5) % 2)
    row = curve.loc[(25, "synthetic t")]
    assert row["regime"] == "weighted" and row["verdict"] == "helps"
    assert row["vs_real_only"] == pytest.approx(gain.mean())
    half = stats.t.ppf(0.975, 4) * gain.std(ddof=1) / np.sqrt(5)
    assert row["vs_real_only_lo"] == pytest.approx(gain.mean() - half)
    assert curve.loc[(25, "gen_recipe == digits3d"), "verdict"] == "hurts"
    # At 50 the tuned set's weighted mix differs by 0 or +0.01: its interval spans 0.
    assert curve.loc[(50, "synthetic t"), "verdict"] == "within noise"
    assert any("points [" in f.message and f.message.endswith("helps")
               for f in result.findings)
    back = type(result).from_dict(result.to_dict(max_rows=None))
    assert back.tables["curve"].shape == result.tables["curve"].shape
    plot_synthetic_helps(result)
