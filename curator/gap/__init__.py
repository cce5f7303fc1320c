"""Real vs synthetic gap: pure metrics (:mod:`.metrics`, :mod:`.classifier_test`), the
report that sets them side by side per stratum (:mod:`.report`) and its figures (:mod:`.plots`).

Every public name is re-exported here, so ``from curator.gap import gap_report`` works.
"""

from curator.gap.classifier_test import auc_interval, classifier_two_sample_test
from curator.gap.metrics import (
    FD_BLOCKS,
    PRDC_BLOCK,
    PRDC_METRICS,
    QUERY_BLOCK,
    attribute_distances,
    check_pair,
    frechet_distance,
    frechet_interval,
    kid,
    prdc,
    prdc_intervals,
    real_baseline_fd,
)
from curator.gap.plots import plot_c2st, plot_kid, plot_prdc
from curator.gap.report import (
    AUC_GAP,
    GAP_COLUMNS,
    KS_SHIFT,
    LINEAGE_COLUMNS,
    TV_SHIFT,
    GapConfig,
    ablation_gaps,
    gap_report,
)

__all__ = [
    "AUC_GAP", "FD_BLOCKS", "GAP_COLUMNS", "KS_SHIFT", "LINEAGE_COLUMNS", "PRDC_BLOCK",
    "PRDC_METRICS", "QUERY_BLOCK", "TV_SHIFT", "GapConfig", "ablation_gaps",
    "attribute_distances", "auc_interval", "check_pair", "classifier_two_sample_test",
    "frechet_distance", "frechet_interval", "gap_report", "kid", "plot_c2st", "plot_kid",
    "plot_prdc", "prdc", "prdc_intervals", "real_baseline_fd",
]
