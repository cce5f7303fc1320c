"""Experiments that answer "which ratio, which randomizations", scored on real held-out data.

A fast proxy model (scikit-learn, on embedding vectors) is trained on mixes of real and
synthetic samples and scored on a fixed real held-out split that never sees synthetic,
augmented or oversampled data and shares no near-duplicate or lineage with any training
mix. Every point runs under several seeds; the tables give the mean and a t-interval, and
the recommendations say which mix is best per budget and per held-out stratum, with the
paired difference to real-only training behind each one.

Pure functions over arrays, one module per step: :mod:`~curator.experiments.data` (the
held-out split and its leakage guard), :mod:`~curator.experiments.mixes` (training mixes),
:mod:`~curator.experiments.proxy` (the proxy model), :mod:`~curator.experiments.weighting`
(the synthetic weight of the ``weighted`` regime), :mod:`~curator.experiments.runs` (the
sweep and the ablation), :mod:`~curator.experiments.summary` (intervals and
recommendations), :mod:`~curator.experiments.compare` (synthetic sets side by side) and
:mod:`~curator.experiments.plots`. The workspace wrappers live in
:mod:`curator.workflows.experiments`.
"""

from curator.experiments.compare import compare_synthetic_sets, synthetic_name
from curator.experiments.data import ExperimentError, Holdout, SweepData, heldout_split
from curator.experiments.mixes import MixPoint, mix_points, mix_rows
from curator.experiments.plots import plot_ablation, plot_sweep, plot_synthetic_helps
from curator.experiments.proxy import (
    FINETUNE_ITER,
    PRETRAINABLE,
    PROXIES,
    REGIMES,
    Proxy,
    check_model_regimes,
    fit_proxy,
    make_proxy,
    score,
    takes_sample_weight,
)
from curator.experiments.runs import EXPERIMENT_VERSION, RunCache, run_ablation, run_ratio_sweep
from curator.experiments.summary import (
    ExperimentSummary,
    paired_difference,
    summarize_ablation,
    summarize_runs,
    t_interval,
)
from curator.experiments.weighting import (
    VALIDATION_FOLDS,
    WEIGHT_GRID,
    check_weights,
    choose_synthetic_weight,
)

__all__ = [
    "EXPERIMENT_VERSION", "FINETUNE_ITER", "PRETRAINABLE", "PROXIES", "REGIMES",
    "VALIDATION_FOLDS", "WEIGHT_GRID", "ExperimentError", "ExperimentSummary", "Holdout",
    "MixPoint", "Proxy", "RunCache", "SweepData", "check_model_regimes", "check_weights",
    "choose_synthetic_weight", "compare_synthetic_sets", "fit_proxy", "heldout_split",
    "make_proxy", "mix_points",
    "mix_rows", "paired_difference", "plot_ablation", "plot_sweep", "plot_synthetic_helps",
    "run_ablation", "run_ratio_sweep", "score", "summarize_ablation", "summarize_runs",
    "synthetic_name", "t_interval", "takes_sample_weight",
]
