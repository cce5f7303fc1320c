"""The real vs synthetic gap report: :func:`gap_report` scores every metric of
:mod:`curator.gap.metrics` per label and stratum, :func:`ablation_gaps` per ablation variant.

Also owns the findings (``gap``, ``no_gap``, ``attribute_shift``, ``randomizer_matters``)
and the method notes; the figures are in :mod:`curator.gap.plots`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import pandas as pd

from curator.gap.classifier_test import classifier_two_sample_test
from curator.gap.metrics import (
    PRDC_METRICS,
    attribute_distances,
    frechet_interval,
    kid,
    prdc,
    prdc_intervals,
    real_baseline_fd,
)
from curator.gap.plots import plot_c2st, plot_kid, plot_prdc
from curator.neighbors import as_float32
from curator.results import AnalysisResult, Finding
from curator.stats import AnalysisError, attribute_columns
from curator.validation import check_scalar

#: A gap report flags an attribute whose real and synthetic distributions differ this much.
TV_SHIFT = 0.2
KS_SHIFT = 0.2
#: ...and a stratum whose two-sample classifier AUC is surely above this (even with a KID
#: interval that covers 0).
AUC_GAP = 0.55
#: Frame columns shown next to the most obviously synthetic samples, when present.
LINEAGE_COLUMNS = ("gen_recipe", "gen_ablated", "generator")


@dataclass(frozen=True)
class GapConfig:
    """How :func:`gap_report` and :func:`ablation_gaps` score a stratum.

    ``k`` and ``max_samples`` are PRDC's neighbourhood size and per-side subsample cap,
    ``n_boot`` the bootstrap replicates of every interval, ``min_stratum`` the fewest real
    and synthetic samples a stratum needs to be scored (smaller ones are listed with a
    reason), ``kid_subsets`` and ``kid_subset_size`` KID's subsets (at most) and rows per side.
    """

    k: int = 5
    n_boot: int = 100
    max_samples: int | None = 20_000
    min_stratum: int = 20
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    random_state: int = 0

    @classmethod
    def resolve(cls, config: GapConfig | None, overrides: Mapping[str, Any],
                who: str) -> GapConfig:
        """``config`` (default: the defaults) with the fields named in ``overrides``."""
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(overrides) - set(names))
        if unknown:
            raise TypeError(f"{who}() got unexpected keyword argument(s) {', '.join(unknown)}; "
                            f"its scoring options are {', '.join(names)}")
        return replace(config if config is not None else cls(), **overrides)

    def check(self) -> None:
        """Raise :class:`AnalysisError` for a bootstrap or stratum size that cannot work."""
        check_scalar(self.n_boot, "n_boot", min_val=1, error=AnalysisError)
        check_scalar(self.min_stratum, "min_stratum", min_val=2, error=AnalysisError)

    def params(self) -> dict[str, Any]:
        """The fields as a dict, in order (what a report records under ``params``)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


GAP_COLUMNS = (["by", "stratum", "n_real", "n_synthetic", "fd", "fd_lo", "fd_hi",
                "fd_real_baseline", "kid", "kid_lo", "kid_hi"]
               + [f"{m}{s}" for m in PRDC_METRICS for s in ("", "_lo", "_hi")]
               + ["c2st_auc", "c2st_auc_lo", "c2st_auc_hi", "reason"])


def _stratum_gap(real: np.ndarray, fake: np.ndarray, config: GapConfig
                 ) -> tuple[dict[str, Any], pd.Series]:
    """Every gap number of one stratum (a :data:`GAP_COLUMNS` row without its first four
    columns and ``reason``), and the out-of-fold P(synthetic) of its rows."""
    k, n_boot, max_samples = config.k, config.n_boot, config.max_samples
    kid_subsets, kid_subset_size = config.kid_subsets, config.kid_subset_size
    random_state = config.random_state
    rng = np.random.RandomState(random_state)
    row: dict[str, Any] = {}
    row.update(frechet_interval(real, fake, n_boot=n_boot, random_state=rng).as_dict("fd"))
    row["fd_real_baseline"] = real_baseline_fd(real, len(fake), rng)
    # Beyond ~2 n / subset_size subsets, more add no precision (see kid): cap them.
    n_min = min(len(real), len(fake))
    subsets = min(kid_subsets, max(10, math.ceil(2 * n_min / min(kid_subset_size, n_min))))
    row.update(kid(real, fake, n_subsets=subsets, subset_size=kid_subset_size,
                   random_state=rng).as_dict("kid"))
    pr = prdc(real, fake, k=k, max_samples=max_samples, random_state=random_state)
    for name, interval in prdc_intervals(pr, n_boot=n_boot, random_state=rng).items():
        row.update(interval.as_dict(name))
    auc, proba = classifier_two_sample_test(real, fake, random_state=random_state)
    row.update(auc.as_dict("c2st_auc"))
    return row, proba


def _groups(n: int, labels: np.ndarray | None, strata: pd.Series | None
            ) -> list[tuple[str, str, np.ndarray]]:
    groups = [("all", "all", np.ones(n, bool))]
    if labels is not None:
        present = pd.Series(labels).dropna()
        for value in sorted(present.unique(), key=_natural_key):
            groups.append(("label", f"label {value}", np.asarray(labels == value)))
    if strata is not None:
        keys = strata.astype(object)
        for key in sorted(keys.dropna().unique(), key=_natural_key):
            groups.append(("stratum", str(key), (keys == key).to_numpy()))
    return groups


def _natural_key(value: Any) -> tuple[int, Any]:
    """Numbers in numeric order, then everything else as text (``2 < 10``, ``"a" < "b"``)."""
    try:
        return (0, float(value))
    except (TypeError, ValueError):
        return (1, str(value))


def _column(frame: pd.DataFrame | None, name: str, n: int) -> np.ndarray | None:
    if frame is None or name not in frame.columns:
        return None
    if len(frame) != n:
        raise AnalysisError(f"frame has {len(frame)} rows for {n} vectors; pass the rows "
                            "the vectors belong to, in the same order")
    return frame[name].to_numpy()


def _vectors_and_flags(vectors: Any, is_synthetic: Any, who: str
                       ) -> tuple[np.ndarray, np.ndarray]:
    X = as_float32(vectors, what="vectors")
    synthetic = np.asarray(is_synthetic)
    if synthetic.shape != (len(X),):
        raise AnalysisError(f"is_synthetic has shape {synthetic.shape}; expected one flag per "
                            f"vector ({len(X)})")
    synthetic = synthetic.astype(bool)
    if synthetic.all() or not synthetic.any():
        raise AnalysisError(f"{who} needs both real and synthetic samples; is_synthetic "
                            f"marks {int(synthetic.sum())} of {len(X)} as synthetic")
    return X, synthetic


def _score_groups(X: np.ndarray, groups: list[tuple[str, str, np.ndarray, np.ndarray]],
                 config: GapConfig) -> tuple[pd.DataFrame, np.ndarray | None]:
    """One :data:`GAP_COLUMNS` row per ``(by, name, real_mask, fake_mask)`` group (too small
    ones with a reason instead), and the first group's held-out P(synthetic)."""
    config.check()
    min_rows = max(config.min_stratum, config.k + 1)
    rows, first_proba = [], None
    for i, (by, name, real_mask, fake_mask) in enumerate(groups):
        real, fake = X[real_mask], X[fake_mask]
        row = {"by": by, "stratum": name, "n_real": len(real), "n_synthetic": len(fake),
               "reason": None}
        if min(len(real), len(fake)) < min_rows:
            row["reason"] = (f"fewer than {min_rows} real or synthetic samples "
                             f"({len(real)} real, {len(fake)} synthetic)")
        else:
            scores, proba = _stratum_gap(real, fake, config)
            row.update(scores)
            if i == 0:
                first_proba = proba.to_numpy()
        rows.append(row)
    return pd.DataFrame(rows, columns=GAP_COLUMNS), first_proba


def gap_report(vectors: Any, is_synthetic: Any, *, ids: Sequence[Any] | None = None,
               labels: Sequence[Any] | None = None, strata: pd.Series | None = None,
               frame: pd.DataFrame | None = None, n_top: int = 20,
               config: GapConfig | None = None, **scoring: Any) -> AnalysisResult:
    """How far the synthetic samples are from the real ones, overall and per label/stratum.

    Parameters
    ----------
    vectors, is_synthetic
        One embedding row per sample and whether it is synthetic.
    ids, labels, strata, frame
        Sample ids, labels, stratum keys (a Series, e.g. from :mod:`curator.strata`) and the
        samples' attribute frame, all aligned with ``vectors``; ids and labels default to
        the frame's ``sample_id`` and ``label`` columns.
    n_top
        Rows of ``obviously_synthetic``.
    config, **scoring
        How each stratum is scored: a :class:`GapConfig`, and/or its fields as keywords
        (``k``, ``n_boot``, ``max_samples``, ``min_stratum``, ``kid_subsets``,
        ``kid_subset_size``, ``random_state``), which override ``config``'s.

    Tables: ``gap`` (one row for all samples, one per label and per stratum),
    ``obviously_synthetic`` (the synthetic samples the two-sample classifier is surest of)
    and ``attribute_distances`` (with ``frame``). Findings: ``gap``, ``no_gap``,
    ``attribute_shift``.
    """
    config = GapConfig.resolve(config, scoring, "gap_report")
    X, synthetic = _vectors_and_flags(vectors, is_synthetic, "gap_report")
    n = len(X)
    ids_arr = np.asarray(ids) if ids is not None else _column(frame, "sample_id", n)
    if ids_arr is None:
        ids_arr = np.arange(n)
    labels_arr = np.asarray(labels, dtype=object) if labels is not None \
        else _column(frame, "label", n)
    for name, arr in (("ids", ids_arr), ("labels", labels_arr), ("strata", strata)):
        if arr is not None and len(arr) != n:
            raise AnalysisError(f"{name} has {len(arr)} entries for {n} vectors")
    if strata is not None:
        strata = pd.Series(np.asarray(strata, dtype=object))
    groups = [(by, name, mask & ~synthetic, mask & synthetic)
              for by, name, mask in _groups(n, labels_arr, strata)]
    gap, all_proba = _score_groups(X, groups, config)
    overall = gap.iloc[0]

    tables = {"gap": gap}
    fake_rows = np.flatnonzero(synthetic)
    if all_proba is not None:
        p_fake = all_proba[(~synthetic).sum():]  # the C2ST lists real rows first
        top = np.argsort(-p_fake, kind="stable")[:n_top]
        obvious = pd.DataFrame({"sample_id": ids_arr[fake_rows[top]],
                                "label": labels_arr[fake_rows[top]] if labels_arr is not None
                                else None, "p_synthetic": p_fake[top]})
        for col in LINEAGE_COLUMNS:
            if frame is not None and col in frame.columns:
                obvious[col] = frame[col].to_numpy()[fake_rows[top]]
        tables["obviously_synthetic"] = obvious
    attrs = None
    if frame is not None:
        # The attribute columns of the whole frame are those of real and synthetic together;
        # project first, so only they are copied into the two sides.
        numeric, categorical = attribute_columns(frame)
        cols = numeric + categorical
        attrs = attribute_distances(frame.loc[~synthetic, cols], frame.loc[synthetic, cols])
        tables["attribute_distances"] = attrs

    summary = {"n_real": int(overall["n_real"]), "n_synthetic": int(overall["n_synthetic"])}
    if pd.isna(overall["reason"]):
        summary.update({c: float(overall[c]) for c in GAP_COLUMNS[4:-1]})
    findings = _gap_findings(gap) + _attribute_findings(attrs)
    summary["n_strata_with_gap"] = sum(f.kind == "gap" and f.subject != "all" for f in findings)
    notes = _method_notes(config)
    params = {**config.params(), "n_vectors": n, "dim": X.shape[1]}
    return AnalysisResult(title="Real vs synthetic gap", summary=summary, tables=tables,
                          findings=findings, params=params, notes=notes,
                          plot_fns=[plot_kid, plot_c2st, plot_prdc])


def _method_notes(config: GapConfig) -> list[str]:
    """How each gap number is computed, for a report's notes."""
    k, max_samples = config.k, config.max_samples
    kid_subsets, kid_subset_size = config.kid_subsets, config.kid_subset_size
    return [
        "fd_real_baseline: FD between two random halves of the real rows, scaled to the "
        "stratum's sample sizes (FD's bias grows as 1/n): what sampling noise alone scores; "
        "an FD near it is no evidence of a gap. FD intervals resample blocks of rows.",
        "KID: unbiased MMD^2 (polynomial kernel, degree 3) averaged over up to "
        f"{kid_subsets} subsets (no more than 2 n / subset size) of up to {kid_subset_size} "
        "rows per side; 0 = same distribution.",
        f"PRDC (k={k}) on at most {max_samples} rows per side; its intervals resample samples "
        "with the neighbourhood radii held fixed.",
        "C2ST: mean held-out AUC over 5 folds of logistic regression on standardized vectors "
        "and their squares; 0.5 = indistinguishable.",
    ]


def ablation_gaps(vectors: Any, is_synthetic: Any, variants: Sequence[Any], *,
                  reference: str = "none", config: GapConfig | None = None,
                  **scoring: Any) -> AnalysisResult:
    """The real vs synthetic gap of each ablation variant: which randomizer matters.

    ``variants`` names, for each synthetic row, the randomizer held at its default when it
    was generated (its ``gen_ablated``), ``reference`` (default ``"none"``) for the rows
    generated with every randomizer on; real rows' entries are ignored. Each variant's
    synthetic rows are compared with all real rows, as :func:`gap_report` compares a stratum.

    Table ``ablation_gap`` (the reference first, then by KID, largest first, with
    ``kid_vs_reference``). Findings: ``randomizer_matters`` for each variant whose KID is
    surely above the reference's (holding that randomizer fixed widens the gap). ``config``
    and ``**scoring`` say how each variant is scored, as in :func:`gap_report`.
    """
    config = GapConfig.resolve(config, scoring, "ablation_gaps")
    X, synthetic = _vectors_and_flags(vectors, is_synthetic, "ablation_gaps")
    variant = np.asarray(variants, dtype=object)
    if variant.shape != (len(X),):
        raise AnalysisError(f"variants has shape {variant.shape}; expected one entry per "
                            f"vector ({len(X)})")
    names = sorted({str(v) for v in variant[synthetic]}, key=lambda v: (v != reference, v))
    as_text = variant.astype(str)
    groups = [("ablated", name, ~synthetic, synthetic & (as_text == name)) for name in names]
    table, _ = _score_groups(X, groups, config)
    ref = table[(table["stratum"] == reference) & table["reason"].isna()]
    table["kid_vs_reference"] = table["kid"] - (ref["kid"].iloc[0] if len(ref) else np.nan)
    # The reference first, then the widest gap first; unscored variants last.
    key = np.where(table["stratum"] == reference, -np.inf, -table["kid"].fillna(-np.inf))
    table = table.iloc[np.lexsort((table["stratum"], key))].reset_index(drop=True)
    findings = []
    if len(ref):
        r = ref.iloc[0]
        for _, row in table[table["reason"].isna() & (table["stratum"] != reference)].iterrows():
            if row["kid_lo"] > r["kid_hi"]:
                findings.append(Finding(
                    "randomizer_matters", row["stratum"],
                    f"holding {row['stratum']} at its default widens the gap: KID "
                    f"{row['kid']:.3g} [{row['kid_lo']:.3g}, {row['kid_hi']:.3g}] vs "
                    f"{r['kid']:.3g} [{r['kid_lo']:.3g}, {r['kid_hi']:.3g}] with every "
                    f"randomizer on (C2ST AUC {row['c2st_auc']:.2f} vs {r['c2st_auc']:.2f})",
                    "alert" if not findings else "warning",
                    {c: row[c] for c in GAP_COLUMNS[2:-1]}))
    scored = table[table["reason"].isna() & (table["stratum"] != reference)]
    summary = {"reference": reference, "n_variants": int((table["stratum"] != reference).sum()),
               "reference_kid": float(ref["kid"].iloc[0]) if len(ref) else float("nan"),
               "most_important": scored["stratum"].iloc[0] if len(scored) else None,
               "n_that_matter": len(findings)}
    notes = _method_notes(config)
    if not len(ref):
        notes.insert(0, f"no scored reference variant {reference!r}: nothing to compare with")
    params = {"reference": reference, **config.params()}
    return AnalysisResult(title="Ablation gaps", summary=summary,
                          tables={"ablation_gap": table}, findings=findings, params=params,
                          notes=notes, plot_fns=[plot_kid, plot_c2st])


def _gap_findings(gap: pd.DataFrame) -> list[Finding]:
    scored = gap[gap["reason"].isna()]
    if scored.empty or not pd.isna(gap.iloc[0]["reason"]):
        return []
    overall = gap.iloc[0]
    found: list[Finding] = []
    for _, row in scored.iterrows():
        kid_gap = row["kid_lo"] > 0
        auc_gap = row["c2st_auc_lo"] > AUC_GAP
        worse = row["by"] != "all" and row["kid_lo"] > overall["kid_hi"]
        if not (kid_gap or auc_gap or worse):
            continue
        severity = "alert" if worse or row["c2st_auc"] >= 0.9 else "warning"
        extra = f"; {row['kid'] / max(overall['kid'], 1e-12):.1f}x the overall KID" \
            if worse and overall["kid"] > 0 else ""
        where = "overall" if row["by"] == "all" else row["stratum"]
        found.append(Finding(
            "gap", row["stratum"],
            f"{where}: synthetic is far from real (KID {row['kid']:.3g} "
            f"[{row['kid_lo']:.3g}, {row['kid_hi']:.3g}], C2ST AUC {row['c2st_auc']:.2f}, "
            f"precision {row['precision']:.2f}, coverage {row['coverage']:.2f}{extra})",
            severity, {c: row[c] for c in GAP_COLUMNS[2:-1]}))
    found.sort(key=lambda f: (f.subject != "all", -f.details["kid"]))
    # "Not above" rather than "covers": below-zero KID and below-0.5 AUC are noise too (KID
    # runs negative when both sides hold the same label mix by design, not by chance).
    if overall["kid_lo"] <= 0 and overall["c2st_auc_lo"] <= 0.5:
        found.insert(0, Finding(
            "no_gap", "all",
            f"synthetic and real are indistinguishable here: KID {overall['kid']:.3g} "
            f"[{overall['kid_lo']:.3g}, {overall['kid_hi']:.3g}] is not above 0 and C2ST AUC "
            f"{overall['c2st_auc']:.2f} [{overall['c2st_auc_lo']:.2f}, "
            f"{overall['c2st_auc_hi']:.2f}] not above 0.5", "info",
            {c: overall[c] for c in GAP_COLUMNS[2:-1]}))
    return found


def _attribute_findings(attrs: pd.DataFrame | None) -> list[Finding]:
    if attrs is None:
        return []
    found = []
    for _, row in attrs.iterrows():
        ks_shift = row["ks"] >= KS_SHIFT and row["ks_p"] < 1e-3
        if row["tv"] >= TV_SHIFT or ks_shift:
            stat = f"KS {row['ks']:.2f} (p {row['ks_p']:.1g}), " if row["kind"] == "numeric" \
                else ""
            found.append(Finding(
                "attribute_shift", row["attribute"],
                f"{row['attribute']} is distributed differently in synthetic samples "
                f"({stat}total variation {row['tv']:.2f})",
                "warning", {c: row[c] for c in attrs.columns}))
    return found
