"""Which rows are which: one rule for the main synthetic set, shared by the report, the
experiments and the ratio planner."""

from __future__ import annotations

import numpy as np
import pandas as pd

from curator.provenance import is_main_synthetic, is_real, recipe_renders


def rows() -> pd.DataFrame:
    return pd.DataFrame({
        "source": ["real", "synthetic", "synthetic", "synthetic", "synthetic", "synthetic",
                   "augmented", "oversampled", "synthetic"],
        "gen_ablated": [None, "none", "", None, "lighting", "none", "none", "none", np.nan],
        "oversample_kind": [None, None, None, None, None, "interpolate", None, None, None]})


def test_main_synthetic_is_full_recipe_renders_with_null_none_and_empty_alike():
    frame = rows()
    assert is_real(frame).tolist() == [True] + [False] * 8
    assert recipe_renders(frame).tolist() == [False, True, True, True, True, False, False,
                                              False, True]
    assert is_main_synthetic(frame).tolist() == [False, True, True, True, False, False,
                                                 False, False, True]


def test_optional_columns_may_be_missing():
    frame = rows()
    only_source = frame[["source"]]
    assert is_main_synthetic(only_source).tolist() == (frame.source == "synthetic").tolist()
    no_oversampling = frame.drop(columns="oversample_kind")
    assert is_main_synthetic(no_oversampling).tolist() == [False, True, True, True, False,
                                                           True, False, False, True]


def test_the_report_the_experiments_and_the_ratio_planner_share_the_rule():
    import curator.workflows.experiments as experiments
    import curator.workflows.ratio as ratio
    import reports.build as build

    assert build.is_main_synthetic is is_main_synthetic
    assert experiments.is_main_synthetic is is_main_synthetic
    assert ratio.is_main_synthetic is is_main_synthetic


def test_ablation_arms_count_null_none_and_empty_as_the_full_recipe():
    from curator.provenance import ablation_arm

    frame = rows()
    assert ablation_arm(frame).tolist() == ["none", "none", "none", "none", "lighting",
                                           "none", "none", "none", "none"]
    assert ablation_arm(frame[["source"]]).tolist() == ["none"] * len(frame)
    full = ablation_arm(frame) == "none"
    assert (is_main_synthetic(frame) <= full).all()  # main synthetic rows are full-recipe rows
