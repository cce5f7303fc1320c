"""Label quality: likely mislabeled samples and embedding outliers, ranked, with a suggested label.

Two independent signals: confident learning over out-of-fold predicted probabilities
(cleanlab) and disagreement with the labels of the k nearest neighbours.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import resample

from curator.neighbors import NeighborIndex, NeighborsError, as_float32, knn_graph_columns
from curator.results import AnalysisResult, Finding, new_figure
from curator.stats import AnalysisError
from curator.validation import check_scalar

#: Scale of the median absolute deviation that makes it estimate a normal standard deviation.
MAD_TO_SD = 1.4826
#: A label gets a "mislabeled" finding from this many suspects and this share of its samples.
FINDING_MIN_SUSPECTS = 3
FINDING_MIN_SHARE = 0.01
#: Share of a label's samples under suspicion from which the finding is an alert.
ALERT_SHARE = 0.05
#: Share of a label under suspicion from which the embedding, more than the labels, is the
#: likelier culprit: it does not separate the label from the one suggested.
INSEPARABLE_SHARE = 0.5
#: Sample ids named in a finding.
TOP_IDS = 5
_METHODS = {"both": "confident learning + kNN", "confident_learning": "confident learning",
            "knn": "kNN"}


def default_classifier() -> Any:
    """The out-of-fold model: standardised features into a multinomial logistic regression."""
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=300))


def out_of_fold_pred_probs(X: np.ndarray, codes: np.ndarray, *, classifier: Any = None,
                           cv: int = 5, max_fit_samples: int = 50_000,
                           random_state: int | None = 0) -> np.ndarray:
    """Held-out predicted probabilities, ``(n, n_classes)``, from stratified k-fold CV.

    As scikit-learn's ``cross_val_predict(method="predict_proba")`` over
    ``StratifiedKFold(cv, shuffle=True)``, except that a fold whose training part exceeds
    ``max_fit_samples`` rows fits on a seeded stratified subsample of it (the held-out rows
    are all predicted): fitting, not predicting, is what grows with n. ``codes`` are class
    codes ``0..n_classes-1``, each with at least ``cv`` members.
    """
    model = default_classifier() if classifier is None else classifier
    probs = np.zeros((len(codes), int(codes.max()) + 1))
    folds = StratifiedKFold(cv, shuffle=True, random_state=random_state)
    for train, test in folds.split(np.empty((len(codes), 0)), codes):
        if len(train) > max_fit_samples:
            train = np.sort(resample(train, replace=False, n_samples=max_fit_samples,
                                     stratify=codes[train], random_state=random_state))
        fitted = clone(model).fit(X[train], codes[train])
        # A class missing from a (subsampled) training part keeps probability 0, as in sklearn.
        probs[np.ix_(test, fitted.classes_)] = fitted.predict_proba(X[test])
    return probs


def neighbor_label_votes(codes: np.ndarray, dist: np.ndarray, ind: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray]:
    """``(disagreement, majority)`` of each sample's neighbours.

    ``disagreement`` is the share of the k neighbours (``ind``, with distances ``dist``)
    whose label differs from the sample's; ``majority`` the most common *other* label among
    them (the label they suggest instead; the sample's own when none differs), ties broken
    by the smaller sum of distances, then by the nearer neighbour.
    """
    neighbor_codes = codes[ind]
    disagreement = (neighbor_codes != codes[:, None]).mean(axis=1)
    # Votes per neighbour column (how many neighbours share its label) in blocks of
    # rows x k x k, not n x n_classes, so many classes or rows cost little memory.
    k = ind.shape[1]
    best = np.empty(len(codes), np.int64)
    step = max(1, 2**22 // (k * k))
    for s in range(0, len(codes), step):
        block = neighbor_codes[s:s + step]
        same = block[:, :, None] == block[:, None, :]
        dist_sum = np.einsum("ijk,ik->ij", same, dist[s:s + step])
        own = block == codes[s:s + step, None]
        best[s:s + step] = np.lexsort((dist_sum, -same.sum(axis=2), own), axis=-1)[:, 0]
    return disagreement, neighbor_codes[np.arange(len(codes)), best]


def robust_threshold(values: np.ndarray, n_mad: float) -> tuple[float, np.ndarray]:
    """``(threshold, robust_z)``: median + ``n_mad`` robust SDs, and each value's robust z.

    The robust SD is 1.4826 MAD; when over half the values are equal (MAD 0) it falls back
    to 1.2533 times the mean absolute deviation (the normal-consistent scale of that).
    """
    median = float(np.median(values))
    deviation = np.abs(values - median)
    scale = MAD_TO_SD * float(np.median(deviation)) or 1.2533 * float(deviation.mean())
    if scale == 0:  # all values equal: nothing stands out
        return np.inf, np.zeros(len(values))
    return median + n_mad * scale, (values - median) / scale


def label_quality_report(vectors: Any, labels: Any, ids: Sequence[Any] | None = None, *,
                         k: int = 10, cv: int = 5, pred_probs: Any = None,
                         classifier: Any = None, max_fit_samples: int = 50_000,
                         knn_threshold: float = 0.7, outlier_mad: float = 4.0,
                         index: str = "Flat", random_state: int | None = 0,
                         frame: pd.DataFrame | None = None,
                         neighbors: Any = None) -> AnalysisResult:
    """Likely mislabeled samples (confident learning, kNN label disagreement) and outliers.

    Parameters
    ----------
    vectors
        ``(n, d)`` embedding rows.
    labels
        One label per row (strings or any hashable); the tables show the original names.
    ids
        Sample ids (default ``"0"`` .. ``"n-1"``).
    k
        Neighbours per sample, for the label vote and the outlier distance.
    cv
        Cross-validation folds for the out-of-fold probabilities; lowered to the smallest
        class count when a class is smaller, confident learning skipped (with a note) when
        a class has a single sample.
    pred_probs
        ``(n, n_classes)`` out-of-fold probabilities to use instead of fitting; columns in
        the order of ``result.params["classes"]`` (sorted labels). Used as given.
    classifier
        scikit-learn classifier with ``predict_proba`` (default: standard scaler + logistic
        regression).
    max_fit_samples
        Most rows one fold's model is fit on (a seeded stratified subsample beyond that).
    knn_threshold
        kNN flags a sample when at least this share of its neighbours carry another label.
    outlier_mad
        A sample is an outlier when its distance to its k-th neighbour exceeds the median
        by this many robust SDs (1.4826 MAD). The k-th, not the 1st, neighbour: a small
        clump of far-away points (near-duplicates) is still caught.
    index
        Neighbour index (``"Flat"`` exact, ``"IVF"``, ``"HNSW"``, or a faiss factory string).
    random_state
        Seed of the folds, the fit subsamples and approximate indices.
    frame
        Extra columns (e.g. ``source``) carried into the suspects and outliers tables by
        row position; columns the tables already have are left out.
    neighbors
        Optional precomputed self-excluded k-NN graph ``(dist, ind)`` of ``vectors`` with at
        least ``k`` columns (``index`` is then unused).

    Returns
    -------
    AnalysisResult
        Tables ``suspects`` (one row per flagged sample, by ``score`` descending),
        ``outliers`` and ``per_label``. ``summary`` counts each method's flags including the
        samples both flagged (``n_suspects = n_confident_learning + n_knn - n_both``).
        ``score`` = (methods flagging - 1 + evidence) / methods run, evidence the mean of
        (1 - self_confidence) and knn_disagreement: samples both methods flag rank first.
    """
    X, codes, classes, ids, extra = _check_inputs(vectors, labels, ids, frame)
    n, n_classes = len(codes), len(classes)
    _check_params(n, k=k, cv=cv, max_fit_samples=max_fit_samples,
                  knn_threshold=knn_threshold, outlier_mad=outlier_mad)
    notes: list[str] = []

    try:
        if neighbors is not None:
            dist, ind = knn_graph_columns(neighbors, n, k)
            nn = None
        else:
            nn = NeighborIndex(n_neighbors=k, index=index, random_state=random_state).fit(X)
            dist, ind = nn.kneighbors()
    except NeighborsError as exc:
        raise AnalysisError(str(exc)) from None
    if nn is not None and nn.recall_ < 1:
        notes.append(f"Neighbours from the approximate index {nn.factory_!r} "
                     f"(measured recall@{k} {nn.recall_:.3f}).")
    disagreement, knn_codes = neighbor_label_votes(codes, dist, ind)
    knn_flag = disagreement >= knn_threshold - 1e-12  # 7 of 10 meets a threshold of 0.7

    probs, cv_used = _pred_probs(X, codes, classes, pred_probs, classifier=classifier, cv=cv,
                                 max_fit_samples=max_fit_samples, random_state=random_state,
                                 notes=notes)
    if probs is None:
        cl_flag = np.zeros(n, bool)
        self_conf = np.full(n, np.nan)
        cl_codes = knn_codes
        cv_accuracy = noise_rate = float("nan")
    else:
        cl_flag, noise_rate = _confident_learning(codes, probs)
        self_conf = probs[np.arange(n), codes]
        cl_codes = probs.argmax(axis=1)
        cv_accuracy = float(np.mean(cl_codes == codes))

    flagged = cl_flag | knn_flag
    suggested = np.where(cl_flag, cl_codes, knn_codes)
    methods_run = 1 if probs is None else 2
    evidence = disagreement if probs is None else ((1 - self_conf) + disagreement) / 2
    score = (cl_flag.astype(int) + knn_flag - 1 + evidence) / methods_run
    rows = np.flatnonzero(flagged)
    rows = rows[np.argsort(-score[rows], kind="stable")]
    suspects = pd.DataFrame({
        "sample_id": ids[rows],
        "label": classes[codes[rows]],
        "suggested_label": classes[suggested[rows]],
        "self_confidence": self_conf[rows],
        "suggested_prob": (np.full(len(rows), np.nan) if probs is None
                           else probs[rows, suggested[rows]]),
        "knn_disagreement": disagreement[rows],
        "knn_label": classes[knn_codes[rows]],
        "flagged_by": np.where(cl_flag[rows] & knn_flag[rows], "both",
                               np.where(cl_flag[rows], "confident_learning", "knn")),
        "score": score[rows],
    })

    kth = dist[:, -1]
    threshold, robust_z = robust_threshold(kth, outlier_mad)
    out_rows = np.flatnonzero(kth > threshold)
    out_rows = out_rows[np.argsort(-kth[out_rows], kind="stable")]
    outliers = pd.DataFrame({"sample_id": ids[out_rows], "label": classes[codes[out_rows]],
                             "knn_distance": kth[out_rows], "robust_z": robust_z[out_rows]})
    notes.append(f"Outliers: distance to the {_ordinal(k)} neighbour above median + "
                 f"{outlier_mad:g} x 1.4826 MAD = {threshold:.4g}.")

    per_label, pair_counts = _per_label(codes, suggested, flagged, classes)
    findings = _mislabel_findings(per_label, pair_counts, suspects, classes)
    if len(out_rows):
        top = ", ".join(map(str, ids[out_rows[:TOP_IDS]]))
        findings.append(Finding(
            "outlier", "embedding",
            f"{len(out_rows)} sample{'s' if len(out_rows) != 1 else ''} far from every "
            f"neighbour (distance to the {_ordinal(k)} neighbour > {threshold:.4g}): {top}"
            + (", ..." if len(out_rows) > TOP_IDS else ""),
            details={"n_outliers": len(out_rows), "threshold": threshold,
                     "top_ids": list(ids[out_rows[:TOP_IDS]])}))

    suspects = _carry(suspects, extra, rows)
    outliers = _carry(outliers, extra, out_rows)
    summary = {
        "n": n, "n_classes": n_classes, "n_suspects": len(rows),
        "n_confident_learning": int(cl_flag.sum()), "n_knn": int(knn_flag.sum()),
        "n_both": int((cl_flag & knn_flag).sum()), "n_outliers": len(out_rows),
        "cv_accuracy": cv_accuracy, "estimated_noise_rate": noise_rate,
    }
    params = {"k": k, "cv": cv, "cv_used": cv_used, "pred_probs_given": pred_probs is not None,
              "classifier": repr(default_classifier() if classifier is None else classifier),
              "max_fit_samples": max_fit_samples, "knn_threshold": knn_threshold,
              "outlier_mad": outlier_mad, "index": index, "random_state": random_state,
              "classes": list(classes)}
    plots: list[Any] = [plot_neighbor_distance]
    plot_data: dict[str, Any] = {"kth_distance": kth, "outlier_threshold": threshold}
    if probs is not None:
        plots.insert(0, plot_self_confidence)
        plot_data.update(self_confidence=self_conf, flagged=flagged)
    return AnalysisResult(
        "Label quality", summary=summary,
        tables={"suspects": suspects, "outliers": outliers, "per_label": per_label},
        findings=findings, params=params, notes=notes, plot_fns=plots, plot_data=plot_data)


# -- inputs ---------------------------------------------------------------------------------
def _check_inputs(vectors: Any, labels: Any, ids: Any, frame: pd.DataFrame | None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                             pd.DataFrame | None]:
    try:
        X = as_float32(vectors, what="vectors", allow_empty=False)
    except NeighborsError as exc:
        raise AnalysisError(str(exc)) from None
    n = len(X)
    values = np.asarray(labels, dtype=object)
    if values.ndim != 1:
        raise AnalysisError(f"labels must be one label per row (1-D); got shape {values.shape}")
    _check_length("labels", len(values), n)
    try:
        codes, classes = pd.factorize(values, sort=True)
    except TypeError:  # labels of mixed types do not sort: keep order of appearance
        codes, classes = pd.factorize(values, sort=False)
    if (codes < 0).any():
        row = int(np.flatnonzero(codes < 0)[0])
        raise AnalysisError(f"labels row {row} is missing; label every sample or drop it")
    if len(classes) < 2:
        raise AnalysisError(f"labels hold {len(classes)} class ({classes[0]!r}); label quality "
                            "needs at least 2 classes")
    if ids is None:
        id_values = np.array([str(i) for i in range(n)], dtype=object)
    else:
        id_values = np.asarray(ids, dtype=object)
        _check_length("ids", len(id_values), n)
    if frame is not None:
        _check_length("frame", len(frame), n)
        frame = frame.reset_index(drop=True)
    return X, codes.astype(np.int64), np.asarray(classes, dtype=object), id_values, frame


def _check_length(what: str, length: int, n: int) -> None:
    if length != n:
        raise AnalysisError(f"{what} has {length} rows but vectors has {n}; pass one per "
                            "vector row, in the same order")


def _check_params(n: int, *, k: Any, cv: Any, max_fit_samples: Any, knn_threshold: Any,
                  outlier_mad: Any) -> None:
    check_scalar(k, "k", min_val=1, error=AnalysisError)
    check_scalar(k, "k", max_val=n, closed="left", error=AnalysisError,
                 message=f"{{name}} must be smaller than the number of samples ({n}): a sample "
                 "is not its own neighbour, got {value!r}")
    check_scalar(cv, "cv", min_val=2, error=AnalysisError)
    check_scalar(max_fit_samples, "max_fit_samples", min_val=2, error=AnalysisError)
    check_scalar(knn_threshold, "knn_threshold", Real, min_val=0, max_val=1, closed="right",
                 error=AnalysisError)
    check_scalar(outlier_mad, "outlier_mad", Real, min_val=0, closed="neither",
                 error=AnalysisError)


def _pred_probs(X: np.ndarray, codes: np.ndarray, classes: np.ndarray, given: Any, *,
                classifier: Any, cv: int, max_fit_samples: int, random_state: int | None,
                notes: list[str]) -> tuple[np.ndarray | None, int | None]:
    """The probabilities confident learning runs on and the folds used, or ``(None, None)``
    with a note when cross-validation is impossible."""
    n, n_classes = len(codes), len(classes)
    if given is not None:
        probs = np.asarray(given, dtype=np.float64)
        if probs.shape != (n, n_classes):
            raise AnalysisError(
                f"pred_probs has shape {probs.shape}; expected {(n, n_classes)}: one row per "
                f"sample, one column per class in the order {list(classes)}")
        if not np.isfinite(probs).all() or probs.min() < 0 or probs.max() > 1 \
                or not np.allclose(probs.sum(axis=1), 1, atol=1e-3):
            raise AnalysisError("pred_probs must hold probabilities: values in [0, 1], each "
                                "row summing to 1")
        notes.append("Confident learning used the pred_probs passed in.")
        return probs, None
    if classifier is not None and not hasattr(classifier, "predict_proba"):
        raise AnalysisError(f"classifier {classifier!r} has no predict_proba; pass a "
                            "probabilistic classifier or pred_probs")
    counts = np.bincount(codes)
    smallest = int(counts.argmin())
    cv_used = min(cv, int(counts[smallest]))
    if cv_used < 2:
        notes.append(f"Confident learning skipped: label {classes[smallest]!r} has a single "
                     "sample, too few to cross-validate; only kNN disagreement is used.")
        return None, None
    if cv_used < cv:
        notes.append(f"cv lowered from {cv} to {cv_used}: label {classes[smallest]!r} has only "
                     f"{cv_used} samples.")
    probs = out_of_fold_pred_probs(X, codes, classifier=classifier, cv=cv_used,
                                   max_fit_samples=max_fit_samples, random_state=random_state)
    subsampled = n - n // cv_used > max_fit_samples
    notes.append(f"Out-of-fold probabilities from {cv_used}-fold cross-validation"
                 + (f"; each fold's model fit on {max_fit_samples:,} sampled rows."
                    if subsampled else "."))
    return probs, cv_used


def _confident_learning(codes: np.ndarray, probs: np.ndarray) -> tuple[np.ndarray, float]:
    """cleanlab's label-issue mask (prune by noise rate) and estimated noise rate."""
    from cleanlab.count import compute_confident_joint, estimate_joint
    from cleanlab.filter import find_label_issues

    joint = compute_confident_joint(codes, probs)
    # n_jobs=1: cleanlab's process pool would fork a process holding faiss/BLAS threads.
    issues = find_label_issues(codes, probs, filter_by="prune_by_noise_rate",
                               confident_joint=joint, n_jobs=1)
    noise = 1 - float(np.trace(estimate_joint(codes, probs, confident_joint=joint)))
    return np.asarray(issues, bool), max(0.0, noise)


# -- tables and findings --------------------------------------------------------------------
def _per_label(codes: np.ndarray, suggested: np.ndarray, flagged: np.ndarray,
               classes: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """The per-label table and the (given x suggested) counts of suspects."""
    n_classes = len(classes)
    pairs = np.bincount(codes[flagged] * n_classes + suggested[flagged],
                        minlength=n_classes * n_classes).reshape(n_classes, n_classes)
    n_per = np.bincount(codes, minlength=n_classes)
    n_suspects = pairs.sum(axis=1)
    top = pairs.argmax(axis=1)
    table = pd.DataFrame({
        "label": classes, "n": n_per, "n_suspects": n_suspects,
        "share_suspect": n_suspects / n_per,
        "most_common_suggestion": np.where(n_suspects > 0, classes[top], None),
    })
    return table, pairs


def _mislabel_findings(per_label: pd.DataFrame, pairs: np.ndarray, suspects: pd.DataFrame,
                       classes: np.ndarray) -> list[Finding]:
    findings = []
    notable = per_label[(per_label.n_suspects >= FINDING_MIN_SUSPECTS)
                        & (per_label.share_suspect >= FINDING_MIN_SHARE)]
    for code in notable.sort_values("n_suspects", ascending=False, kind="stable").index:
        label, n_suspects, share = classes[code], int(per_label.n_suspects[code]), \
            float(per_label.share_suspect[code])
        target = int(pairs[code].argmax())
        group = suspects[(suspects.label == label)
                         & (suspects.suggested_label == classes[target])]
        by = group.flagged_by.value_counts()
        methods = _METHODS[by.index[0]] if len(by) == 1 else ", ".join(
            f"{by[kind]} by {_METHODS[kind]}" for kind in _METHODS if kind in by)
        message = (f"{int(pairs[code, target])} samples labelled {label} look like "
                   f"{classes[target]} ({methods})")
        if n_suspects > pairs[code, target]:
            message += f"; {n_suspects} suspects in all ({share:.1%} of {label})"
        inseparable = share >= INSEPARABLE_SHARE
        if inseparable:
            message = (f"{share:.0%} of label {label} is under suspicion, mostly as "
                       f"{classes[target]}: this embedding does not separate {label} from "
                       f"{classes[target]}, which says more about the embedding than about "
                       "the labels (try a stronger one, e.g. cnn)")
        findings.append(Finding(
            "inseparable" if inseparable else "mislabeled", str(label), message,
            severity="warning" if inseparable or share < ALERT_SHARE else "alert",
            details={"n": int(per_label.n[code]), "n_suspects": n_suspects,
                     "share_suspect": share,
                     "suggestions": {str(classes[j]): int(c) for j, c in
                                     enumerate(pairs[code]) if c},
                     "top_ids": list(group.sample_id[:TOP_IDS])}))
    return findings


def _ordinal(k: int) -> str:
    return f"{k}{'th' if 10 <= k % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(k % 10, 'th')}"


def _carry(table: pd.DataFrame, extra: pd.DataFrame | None, rows: np.ndarray) -> pd.DataFrame:
    if extra is None:
        return table
    columns = [c for c in extra.columns if c not in table.columns]
    return pd.concat([table, extra.iloc[rows][columns].reset_index(drop=True)], axis=1)


# -- plots ----------------------------------------------------------------------------------
def plot_self_confidence(result: AnalysisResult) -> Any:
    """Self-confidence histogram, suspects stacked in red."""
    self_conf, flagged = result.plot_data["self_confidence"], result.plot_data["flagged"]
    fig, ax = new_figure()
    ax.hist([self_conf[~flagged], self_conf[flagged]], bins=np.linspace(0, 1, 41),
            stacked=True, color=["#9aa5b1", "#d64545"], label=["not flagged", "suspect"])
    ax.set_xlabel("self-confidence (out-of-fold probability of the given label)")
    ax.set_ylabel("samples")
    ax.set_yscale("symlog")
    ax.legend()
    return fig


def plot_neighbor_distance(result: AnalysisResult) -> Any:
    """Distance to the k-th neighbour per sample, with the outlier threshold."""
    kth, threshold = result.plot_data["kth_distance"], result.plot_data["outlier_threshold"]
    fig, ax = new_figure()
    ax.hist(kth, bins=50, color="#9aa5b1")
    if threshold is not None and np.isfinite(threshold):  # JSON keeps no inf: None
        ax.axvline(threshold, color="#d64545", linestyle="--", label="outlier threshold")
        ax.legend()
    ax.set_xlabel(f"distance to the {_ordinal(result.params['k'])} neighbour")
    ax.set_ylabel("samples")
    ax.set_yscale("symlog")
    return fig
