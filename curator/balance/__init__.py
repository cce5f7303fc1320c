"""Balance: how samples spread over labels, sources, splits and attribute ranges.

:mod:`.levels` holds the attribute binning the report analyses share, :mod:`.regions` the
searches for under-populated places, :mod:`.report` :func:`balance_report`, :mod:`.plots`
its figures. Every public name is re-exported here (``from curator.balance import ...``).
"""

from curator.balance.levels import (
    AttributeLevels,
    attribute_levels,
    count_table,
    resolve_attributes,
    value_levels,
)
from curator.balance.plots import (
    MAX_BARS,
    MAX_PANELS,
    flagged_attributes,
    plot_attribute_bins,
    plot_flagged_attributes,
    plot_labels,
)
from curator.balance.regions import (
    EXACT_KNN_MAX,
    LOW_DENSITY_Z,
    MAX_PAIR_FINDINGS,
    SIDE_DENSITY_RATIO,
    SPARSE_RATIO,
    LowDensity,
    holes_1d,
    holes_2d,
    low_density,
    side_bias,
)
from curator.balance.report import MAX_PAIR_ATTRIBUTES, MINORITY_RATIO, balance_report

__all__ = [
    "EXACT_KNN_MAX", "LOW_DENSITY_Z", "MAX_BARS", "MAX_PAIR_ATTRIBUTES", "MAX_PAIR_FINDINGS",
    "MAX_PANELS", "MINORITY_RATIO", "SIDE_DENSITY_RATIO", "SPARSE_RATIO", "AttributeLevels",
    "LowDensity", "attribute_levels", "balance_report", "count_table", "flagged_attributes",
    "holes_1d", "holes_2d", "low_density", "plot_attribute_bins", "plot_flagged_attributes",
    "plot_labels", "resolve_attributes", "side_bias", "value_levels",
]
