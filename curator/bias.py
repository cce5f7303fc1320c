"""Attribute–label association and its rectification: which attributes predict the label
(Cramér's V, mutual information, permutation test), and the weights, subsets and generation
requests that make one attribute independent of the label.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from curator.balance import MAX_BARS, AttributeLevels, attribute_levels, resolve_attributes
from curator.requests import GenerationRequest, RequestsResult, requests_frame
from curator.results import AnalysisResult, Finding, new_figure
from curator.stats import AnalysisError, check_frame, check_param, label_codes
from curator.validation import check_scalar

METHODS = ("weights", "subset")
#: Labels and attribute levels drawn in a heatmap (the most frequent ones).
MAX_HEATMAP = 20


# -- association measures on a contingency table -------------------------------------------
def _nonempty(table: Any) -> np.ndarray:
    t = np.asarray(table, dtype=np.float64)
    return t[t.sum(axis=1) > 0][:, t.sum(axis=0) > 0]


def _xlogx_sum(values: np.ndarray) -> float:
    v = values[values > 0]
    return float((v * np.log(v)).sum())


def cramers_v(table: Any) -> float:
    """Cramér's V of a contingency table (counts or weights; empty rows and columns dropped,
    no continuity correction); NaN when fewer than two rows or columns remain."""
    t = _nonempty(table)
    n = t.sum()
    if min(t.shape) < 2 or n <= 0:
        return float("nan")
    expected = np.outer(t.sum(axis=1), t.sum(axis=0)) / n
    chi2 = float(((t - expected) ** 2 / expected).sum())
    return math.sqrt(max(0.0, chi2) / (n * (min(t.shape) - 1)))


def mutual_info(table: Any) -> float:
    """Mutual information (nats) between the row and column variables of a contingency table."""
    t = np.asarray(table, dtype=np.float64)
    n = t.sum()
    if n <= 0:
        return 0.0
    value = (_xlogx_sum(t.ravel()) - _xlogx_sum(t.sum(axis=1)) - _xlogx_sum(t.sum(axis=0))) \
        / n + math.log(n)
    return max(0.0, float(value))


def _contingency(a: np.ndarray, y: np.ndarray, n_levels: int, n_labels: int,
                 weights: np.ndarray | None = None) -> np.ndarray:
    return np.bincount(a * n_labels + y, weights=weights,
                       minlength=n_levels * n_labels).reshape(n_levels, n_labels)


def _labels_or_raise(frame: pd.DataFrame, label: str) -> tuple[np.ndarray, list[str]]:
    y, names = label_codes(frame[label])
    if len(names) < 2:
        raise AnalysisError(f"label column {label!r} has {len(names)} class(es) "
                            f"({', '.join(names) or 'no values'}); association needs at least 2")
    return y, names


def _strongest_cell(table: np.ndarray, lv: AttributeLevels, label_names: list[str]
                    ) -> dict[str, Any]:
    """The attribute level whose label mix departs most from the overall mix (by share
    excess, among levels holding at least 1% of the rows)."""
    n = table.sum()
    n_a = table.sum(axis=1)
    share = np.divide(table, n_a[:, None], out=np.zeros(table.shape), where=n_a[:, None] > 0)
    excess = share - table.sum(axis=0) / n
    excess[n_a < max(1.0, 0.01 * n)] = -np.inf
    i, j = np.unravel_index(int(np.argmax(excess)), excess.shape)
    return {"level": lv.names[i], "label": label_names[j], "share": float(share[i, j]),
            "overall_share": float(table[:, j].sum() / n), "level_count": int(n_a[i])}


# -- association report ---------------------------------------------------------------------
def association_report(frame: pd.DataFrame, *, label: str = "label",
                       attributes: Sequence[str] | None = None, n_bins: int = 6,
                       n_permutations: int = 200, alpha: float = 0.01,
                       v_threshold: float = 0.3, random_state: int = 0) -> AnalysisResult:
    """How strongly each attribute predicts the label.

    Each attribute is taken over the rows that have it (numbers in ``n_bins`` equal-width
    bins). Cramér's V measures the strength, mutual information (nats) the shared
    information, and a permutation test of the mutual information (labels shuffled
    ``n_permutations`` times within those rows) its significance:
    ``p = (1 + #{MI_perm >= MI}) / (1 + n_permutations)``.

    Returns
    -------
    AnalysisResult
        Tables ``associations`` (by V, strongest first) and ``attribute_by_label``; a
        ``confounder`` finding (subject: attribute) where ``p < alpha`` and
        ``V >= v_threshold``.
    """
    check_frame(frame, [label])
    check_scalar(n_bins, "n_bins", min_val=2, error=AnalysisError)
    check_scalar(n_permutations, "n_permutations", min_val=1, error=AnalysisError)
    check_scalar(alpha, "alpha", Real, min_val=0, max_val=1, closed="neither", error=AnalysisError)
    check_scalar(v_threshold, "v_threshold", Real, min_val=0, max_val=1, error=AnalysisError)
    y, label_names = _labels_or_raise(frame, label)
    notes: list[str] = []
    if 1 / (1 + n_permutations) >= alpha:
        notes.append(f"with {n_permutations} permutations the smallest p-value is "
                     f"{1 / (1 + n_permutations):.3g}, not below alpha {alpha:g}: no attribute "
                     f"can be flagged; use at least {math.ceil(1 / alpha)} permutations")
    numeric, categorical = resolve_attributes(frame, label, attributes, notes)
    levels = [attribute_levels(frame[a], n_bins, numeric=True) for a in numeric]
    levels += [attribute_levels(frame[a], n_bins, numeric=False) for a in categorical]
    n_labels = len(label_names)

    # Attributes present on the same rows (all synthetic, all real) share one set of label
    # permutations; only the sum of O log O of each permuted table is needed, as the row and
    # column totals (and so the other terms of the mutual information) stay fixed.
    groups: dict[bytes, list[int]] = {}
    for g, lv in enumerate(levels):
        groups.setdefault(np.packbits(lv.present & (y >= 0)).tobytes(), []).append(g)
    rng = check_random_state(random_state)
    records: list[dict[str, Any]] = [{} for _ in levels]
    tables: list[np.ndarray] = [np.zeros((0, 0))] * len(levels)
    for members in groups.values():
        rows = np.flatnonzero(levels[members[0]].present & (y >= 0))
        y_rows = y[rows]
        tested, bases, t_obs = [], [], []
        for g in members:
            lv = levels[g]
            a = lv.codes[rows]
            table = _contingency(a, y_rows, len(lv.names), n_labels)
            tables[g] = table
            v = cramers_v(table)
            records[g] = {"attribute": lv.name, "kind": "numeric" if lv.numeric
                          else "categorical", "n": len(rows),
                          "n_levels": int((table.sum(axis=1) > 0).sum()), "cramers_v": v,
                          "mutual_info": mutual_info(table), "p_value": float("nan")}
            if np.isfinite(v):
                tested.append(g)
                bases.append(a * n_labels)
                t_obs.append(_xlogx_sum(table.ravel().astype(np.float64)))
            else:
                notes.append(f"{lv.name}: fewer than two levels or labels on its "
                             f"{len(rows):,} rows; not tested")
        if not tested:
            continue
        t_obs_arr = np.asarray(t_obs)
        tol = 1e-9 * np.maximum(1.0, np.abs(t_obs_arr))
        at_least = np.zeros(len(tested), np.int64)
        for _ in range(n_permutations):
            y_perm = rng.permutation(y_rows)
            for i, g in enumerate(tested):
                perm = np.bincount(bases[i] + y_perm, minlength=tables[g].size)
                at_least[i] += _xlogx_sum(perm.astype(np.float64)) >= t_obs_arr[i] - tol[i]
        for i, g in enumerate(tested):
            records[g]["p_value"] = float((1 + at_least[i]) / (1 + n_permutations))

    assoc = pd.DataFrame(records, columns=["attribute", "kind", "n", "n_levels", "cramers_v",
                                           "mutual_info", "p_value"])
    assoc["flagged"] = (assoc["p_value"] < alpha) & (assoc["cramers_v"] >= v_threshold)
    assoc = assoc.sort_values(["cramers_v", "attribute"], ascending=[False, True],
                              na_position="last", ignore_index=True)
    by_name = {lv.name: (lv, tables[g]) for g, lv in enumerate(levels)}
    findings = []
    for row in assoc[assoc["flagged"]].itertuples(index=False):
        lv, table = by_name[row.attribute]
        cell = _strongest_cell(table, lv, label_names)
        findings.append(Finding(
            "confounder", row.attribute,
            f"{row.attribute} predicts the label (Cramér's V {row.cramers_v:.2f}, "
            f"p {row.p_value:.2g}): {cell['level']} → {cell['share']:.0%} {cell['label']} "
            f"({cell['overall_share']:.0%} overall)",
            "alert" if row.cramers_v >= 0.5 else "warning",
            {"cramers_v": row.cramers_v, "mutual_info": row.mutual_info,
             "p_value": row.p_value, "n": int(row.n), **cell}))

    plot_fns: list[Any] = [plot_association]
    plot_data: dict[str, Any] = {}
    if findings:
        lv, table = by_name[findings[0].subject]
        plot_data = {"shares": _label_shares(table, lv, label_names),
                     "title": f"{lv.name}: share of each label per level"}
        plot_fns.append(plot_strongest_confounder)
    top = assoc.iloc[0] if len(assoc) else None
    return AnalysisResult(
        title="Attribute–label association",
        summary={"n_samples": len(frame), "n_labels": n_labels, "n_attributes": len(levels),
                 "n_confounders": len(findings),
                 "max_cramers_v": None if top is None else float(top["cramers_v"]),
                 "strongest_attribute": None if top is None else str(top["attribute"])},
        tables={"associations": assoc,
                "attribute_by_label": _attribute_by_label(frame, y, label_names, levels)},
        findings=findings,
        params={"label": label, "attributes": [lv.name for lv in levels], "n_bins": n_bins,
                "n_permutations": n_permutations, "alpha": alpha,
                "v_threshold": v_threshold, "random_state": random_state},
        notes=notes, plot_fns=plot_fns, plot_data=plot_data)


def _attribute_by_label(frame: pd.DataFrame, y: np.ndarray, label_names: list[str],
                        levels: list[AttributeLevels]) -> pd.DataFrame:
    """Per attribute and label: mean/median/q05/q95 (numbers) or each value's share."""
    names = np.asarray(label_names, dtype=object)
    parts = []
    for lv in levels:
        rows = lv.present & (y >= 0)
        labels = pd.Series(names[y[rows]], name="label")
        if lv.numeric:
            values = pd.to_numeric(frame[lv.name], errors="coerce").to_numpy(np.float64)[rows]
            grouped = pd.Series(values).groupby(labels.to_numpy(), sort=True)
            part = pd.DataFrame({"n": grouped.size(), "mean": grouped.mean(),
                                 "median": grouped.median(), "q05": grouped.quantile(0.05),
                                 "q95": grouped.quantile(0.95)})
        else:
            table = _contingency(lv.codes[rows], y[rows], len(lv.names), len(label_names))
            n_y = table.sum(axis=0)
            i, j = np.nonzero(table)
            part = pd.DataFrame({"n": n_y[j], "value": np.asarray(lv.names, object)[i],
                                 "share": table[i, j] / n_y[j]},
                                index=names[j]).sort_index(kind="stable")
        parts.append(part.rename_axis("label").reset_index().assign(attribute=lv.name))
    columns = ["attribute", "label", "n", "value", "share", "mean", "median", "q05", "q95"]
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True).reindex(columns=columns)


def _label_shares(table: np.ndarray, lv: AttributeLevels, label_names: list[str]
                  ) -> pd.DataFrame:
    """Share of each label within each non-empty level (the most frequent labels/levels)."""
    keep_levels = np.flatnonzero(table.sum(axis=1) > 0)
    keep_levels = keep_levels[np.argsort(-table.sum(axis=1)[keep_levels],
                                         kind="stable")][:MAX_HEATMAP]
    keep_levels.sort()
    keep_labels = np.sort(np.argsort(-table.sum(axis=0), kind="stable")[:MAX_HEATMAP])
    sub = table[keep_levels].astype(np.float64)
    shares = sub / sub.sum(axis=1, keepdims=True)
    return pd.DataFrame(shares[:, keep_labels],
                        index=[lv.names[i] for i in keep_levels],
                        columns=[label_names[j] for j in keep_labels])


# -- rectification --------------------------------------------------------------------------
@dataclass
class RectifyResult(RequestsResult):
    """:func:`decorrelate`'s result: the analysis plus the generation requests that would
    fill the under-represented attribute × label cells."""

    @property
    def weights(self) -> pd.Series | None:
        """Sample weight by ``sample_id`` (method ``"weights"``), else None."""
        table = self.tables.get("weights")
        if table is None:
            return None
        return pd.Series(table["weight"].to_numpy(), index=table["sample_id"].to_numpy(),
                         name="weight")

    @property
    def subset_ids(self) -> list[str] | None:
        """The kept ``sample_id`` values (method ``"subset"``), else None."""
        table = self.tables.get("subset")
        return None if table is None else table["sample_id"].tolist()


def decorrelate(frame: pd.DataFrame, attribute: str, *, label: str = "label",
                method: str = "weights", n_bins: int = 6, random_state: int = 0,
                recipe: str | None = None) -> RectifyResult:
    """Make ``attribute`` independent of the label, by weights or by a subset, and say which
    samples to generate to get there by adding data instead.

    Parameters
    ----------
    method
        ``"weights"``: Kamiran–Calders reweighing ``w(a, y) = P(a) P(y) / P(a, y)``, normalised
        to mean 1 (rows without the attribute keep weight 1). ``"subset"``: the largest subset
        whose cell counts are ``floor(s * n * P(a) P(y))`` for one scale ``s``, drawn at
        random within each cell (rows without the attribute are all kept).
    recipe
        Generator recipe the requests are meant for.

    Returns
    -------
    RectifyResult
        Tables ``cells`` (count, expected under independence, deficit, count after),
        ``weights`` or ``subset``, ``generation_requests``; ``requests`` holds one
        :class:`GenerationRequest` per cell at least one sample short.
    """
    check_frame(frame, [label, attribute, "sample_id"])
    if attribute == label:
        raise AnalysisError(f"attribute {attribute!r} is the label column")
    check_param("method", method, method in METHODS, f"one of {', '.join(METHODS)}")
    check_scalar(n_bins, "n_bins", min_val=2, error=AnalysisError)
    y, label_names = _labels_or_raise(frame, label)
    lv = attribute_levels(frame[attribute], n_bins)
    used = np.flatnonzero(lv.present & (y >= 0))
    a, y_used = lv.codes[used], y[used]
    n_levels, n_labels = len(lv.names), len(label_names)
    counts = _contingency(a, y_used, n_levels, n_labels)
    if (counts.sum(axis=1) > 0).sum() < 2 or (counts.sum(axis=0) > 0).sum() < 2:
        raise AnalysisError(f"{attribute!r} and {label!r} need at least two values each on the "
                            f"{len(used):,} rows that have both")
    n = len(used)
    expected = np.outer(counts.sum(axis=1), counts.sum(axis=0)) / n
    rng = check_random_state(random_state)
    notes: list[str] = []
    tables: dict[str, pd.DataFrame] = {}
    ids = frame["sample_id"].to_numpy()
    if method == "weights":
        cell_weight = np.divide(expected, counts, out=np.zeros(counts.shape), where=counts > 0)
        row_weight = cell_weight[a, y_used]
        scale = 1.0 / row_weight.mean()
        cell_weight *= scale
        weights = np.ones(len(frame))
        weights[used] = row_weight * scale
        after = cell_weight * counts
        tables["weights"] = pd.DataFrame({"sample_id": ids, "weight": weights})
        how = (f"reweighing (weights {row_weight.min() * scale:.2g}–"
               f"{row_weight.max() * scale:.2g})")
    else:
        after = _proportional_counts(counts, expected)
        keep = np.ones(len(frame), bool)
        keep[used] = False
        keep[used[_draw_cells(a * n_labels + y_used, after.ravel(), rng)]] = True
        tables["subset"] = pd.DataFrame({"sample_id": ids[keep]})
        how = f"a subset of {int(after.sum()):,} of {n:,} rows"
        notes.append(f"rows without {attribute} or {label} are kept in the subset as they are")
    v_before, v_after = cramers_v(counts), cramers_v(after)
    cells = _cells_table(lv, label_names, counts, expected, after)
    requests = [
        GenerationRequest(
            n=int(math.ceil(row.deficit - 1e-9)), label=row.label,
            ranges={attribute: (float(row.lo), float(row.hi))} if lv.numeric else {},
            values={} if lv.numeric else {attribute: [row.bin]},
            recipe=recipe, reason=f"fill {attribute}×label cell")
        for row in cells[cells["deficit"] >= 1].sort_values(
            ["deficit", "bin", "label"], ascending=[False, True, True]).itertuples()]
    tables = {"cells": cells, **tables, "generation_requests": requests_frame(requests)}
    empty = cells[(cells["count"] == 0) & (cells["expected"] >= 1)]
    if len(empty) and method == "weights":
        notes.append(f"{len(empty)} cell(s) have no samples; weights cannot fill them, "
                     "the generation requests can")
    n_requested = sum(r.n for r in requests)
    findings = [Finding(
        "rectified", attribute,
        f"{attribute}: Cramér's V with {label} {v_before:.2f} → {v_after:.2f} by {how}; "
        f"{len(requests)} under-filled cell(s) need {n_requested:,} generated samples",
        "warning" if len(empty) else "info",
        {"cramers_v_before": v_before, "cramers_v_after": v_after, "method": method,
         "n_requests": len(requests), "n_requested": n_requested,
         "n_empty_cells": len(empty)})]
    summary = {"attribute": attribute, "method": method, "n_used": n,
               "cramers_v_before": v_before, "cramers_v_after": v_after,
               "mutual_info_before": mutual_info(counts), "mutual_info_after": mutual_info(after),
               "n_requests": len(requests), "n_requested": n_requested}
    if method == "subset":
        summary["n_subset"] = len(tables["subset"])
        summary["n_dropped"] = len(frame) - len(tables["subset"])
    return RectifyResult(
        title=f"Rectify {attribute}", summary=summary, tables=tables, findings=findings,
        params={"attribute": attribute, "label": label, "method": method, "n_bins": n_bins,
                "random_state": random_state, "recipe": recipe},
        notes=notes, plot_fns=[_plot_rectify], requests=requests)


def _proportional_counts(counts: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """``floor(s * expected)`` for the largest ``s`` that no cell's count falls short of."""
    live = expected > 0
    # floor(s * e) <= count  <=>  s < (count + 1) / e; the supremum is not attained, so shrink.
    s = float(np.min((counts[live] + 1) / expected[live]))
    target = np.floor(s * expected * (1 - 1e-12))
    return np.minimum(target, counts).astype(np.int64)


def _draw_cells(cell: np.ndarray, want: np.ndarray, rng: np.random.RandomState) -> np.ndarray:
    """Positions of ``want[c]`` rows drawn without replacement from each cell ``c``
    (cells in order, seeded), sorted."""
    order = np.argsort(cell, kind="stable")
    bounds = np.r_[0, np.cumsum(np.bincount(cell, minlength=len(want)))]
    chosen = [rng.choice(order[bounds[c]:bounds[c + 1]], int(want[c]), replace=False)
              for c in np.flatnonzero(want)]
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, np.int64)


def _cells_table(lv: AttributeLevels, label_names: list[str], counts: np.ndarray,
                 expected: np.ndarray, after: np.ndarray) -> pd.DataFrame:
    levels = np.flatnonzero(counts.sum(axis=1) > 0)
    i = np.repeat(levels, len(label_names))
    j = np.tile(np.arange(len(label_names)), len(levels))
    lo_hi = np.array([lv.bounds(k) for k in i]) if lv.numeric else np.full((len(i), 2), np.nan)
    return pd.DataFrame({
        "bin": np.asarray(lv.names, object)[i], "lo": lo_hi[:, 0], "hi": lo_hi[:, 1],
        "label": np.asarray(label_names, object)[j], "count": counts[i, j],
        "expected": expected[i, j], "deficit": np.maximum(0.0, expected[i, j] - counts[i, j]),
        "after": after[i, j]})


# -- figures --------------------------------------------------------------------------------
def plot_association(result: AnalysisResult) -> Any:
    """Cramér's V per attribute, flagged ones in red, the threshold dashed."""
    v_threshold = result.params["v_threshold"]
    table = result.tables["associations"].dropna(subset=["cramers_v"]).head(MAX_BARS)
    fig, ax = new_figure(5.0, 0.6 + 0.18 * max(3, len(table)))
    y = np.arange(len(table))[::-1]
    colors = np.where(table["flagged"], "#c44e52", "#4c72b0")
    ax.barh(y, table["cramers_v"], color=colors)
    ax.axvline(v_threshold, color="k", lw=0.8, ls="--")
    ax.set_yticks(y, table["attribute"], fontsize=7)
    ax.set_xlim(0, 1)
    ax.set_xticks([0, 0.5, 1])
    ax.tick_params(axis="x", labelsize=7)
    ax.set_xlabel("Cramér's V with the label (red: flagged)", fontsize=8)
    return fig


def plot_strongest_confounder(result: AnalysisResult) -> Any:
    """Label share per level of the strongest confounder."""
    return _plot_heatmap(result.plot_data["shares"], result.plot_data["title"])


def _plot_heatmap(shares: pd.DataFrame, title: str, ax=None, fig=None, colorbar=True):
    if ax is None:
        fig, ax = new_figure(1.2 + 0.3 * shares.shape[1], 0.9 + 0.22 * shares.shape[0])
    image = ax.imshow(shares.to_numpy(), vmin=0, vmax=1, cmap="viridis", aspect="auto")
    ax.set_xticks(np.arange(shares.shape[1]), shares.columns, rotation=90, fontsize=6)
    ax.set_yticks(np.arange(shares.shape[0]), shares.index, fontsize=6)
    ax.set_title(title, fontsize=7)
    if colorbar:
        bar = fig.colorbar(image, ax=ax, shrink=0.8, ticks=[0, 0.5, 1])
        bar.ax.tick_params(labelsize=6)
    return fig


def _plot_rectify(result: AnalysisResult):
    cells = result.tables["cells"]
    fig, _ = new_figure(6.0, 2.4)
    fig.clear()
    axes = fig.subplots(1, 2, sharey=True)
    for ax, column, name in zip(axes, ("count", "after"), ("before", "after"), strict=True):
        table = cells.pivot_table(index="bin", columns="label", values=column, sort=False,
                                  aggfunc="sum").iloc[:MAX_HEATMAP, :MAX_HEATMAP]
        shares = table.div(table.sum(axis=1).replace(0, np.nan), axis=0).fillna(0.0)
        _plot_heatmap(shares, f"label share per {result.params['attribute']} level, {name}",
                      ax=ax, fig=fig, colorbar=name == "after")
    return fig
