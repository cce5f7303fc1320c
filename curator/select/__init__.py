"""Subset selection over embeddings: nearest to targets, coverage, de-duplication, mixing.

Each selector is an estimator (:class:`Selector`: parameters in ``__init__``, data in
``select``) with a thin functional form (``select_*``); each returns a :class:`Selection`
(ids, distances, reasons, summary tables) that :mod:`curator.subsets` saves by name and that
records its selector, so it can be re-run. All searches go through
:class:`curator.neighbors.NeighborIndex`.

Modules: :mod:`~curator.select.result` (the result and the base class),
:mod:`~curator.select.nearest`, :mod:`~curator.select.coverage`,
:mod:`~curator.select.dedup`, :mod:`~curator.select.mix` and
:mod:`~curator.select.targets` (attribute targets).
"""

from curator.select.coverage import CoverageSelector, select_coverage
from curator.select.dedup import (
    EVAL_SPLITS,
    DeduplicationSelector,
    median_nn_distance,
    select_deduplicated,
)
from curator.select.mix import MixCounts, MixSelector, mix_counts, ratio_for, select_mix, size_for
from curator.select.nearest import NearestToTargetsSelector, select_nearest_to_targets
from curator.select.result import Selection, SelectionError, Selector
from curator.select.targets import parse_target, target_points

__all__ = [
    "EVAL_SPLITS",
    "CoverageSelector",
    "DeduplicationSelector",
    "MixCounts",
    "MixSelector",
    "NearestToTargetsSelector",
    "Selection",
    "SelectionError",
    "Selector",
    "median_nn_distance",
    "mix_counts",
    "parse_target",
    "ratio_for",
    "select_coverage",
    "select_deduplicated",
    "select_mix",
    "select_nearest_to_targets",
    "size_for",
    "target_points",
]
