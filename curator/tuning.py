"""The objective a recipe is tuned on: how far a trial's renders are from the real samples,
as one number from the classifier two-sample AUC and the KID, per label, on one embedding.

Pure: vectors and labels in, a :class:`GapScore` out. The search over recipe ranges and the
study on disk live in :mod:`curator.workflows.tune`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd

from curator.gap import check_pair, classifier_two_sample_test, kid
from curator.results import ResultMixin
from curator.stats import AnalysisError
from curator.validation import check_scalar

#: Label of the row that scores all samples together (and the objective's fallback).
POOLED = "(all)"
SCORE_COLUMNS = ("label", "n_real", "n_fake", "auc", "auc_lo", "auc_hi", "kid", "kid_lo",
                 "kid_hi", "kid_rel", "term")


@dataclass(frozen=True)
class ObjectiveConfig:
    """How :func:`gap_objective` scores a trial.

    Parameters
    ----------
    per_label
        Score each label both sides have (at least ``min_per_label`` samples each) and
        average; otherwise (or when no label qualifies) score all samples together.
    min_per_label
        Fewest samples per side for a label to be scored on its own.
    cv
        Folds of the classifier two-sample test.
    kid_subsets, kid_subset_size
        Subsets (and rows per subset) the KID averages over.
    alpha
        1 - the coverage of the reported intervals.
    random_state
        Seed of the classifier folds and the KID subsets.
    """

    per_label: bool = True
    min_per_label: int = 10
    cv: int = 5
    kid_subsets: int = 50
    kid_subset_size: int = 1000
    alpha: float = 0.05
    random_state: int = 0

    def __post_init__(self) -> None:
        check_scalar(self.min_per_label, "min_per_label", min_val=2, error=AnalysisError)
        check_scalar(self.cv, "cv", min_val=2, error=AnalysisError)
        check_scalar(self.kid_subsets, "kid_subsets", min_val=2, error=AnalysisError)
        check_scalar(self.kid_subset_size, "kid_subset_size", min_val=2, error=AnalysisError)
        check_scalar(self.alpha, "alpha", Real, min_val=0, max_val=1, closed="neither",
                     error=AnalysisError)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class GapScore(ResultMixin):
    """One trial's distance to the real samples: the objective and the numbers behind it.

    ``scores`` has one row per scored label (``label``, sample counts, AUC and KID with
    their intervals, the relative KID and the label's term) and a last row ``(all)`` over
    every sample; ``objective`` is the mean of the label terms (the ``(all)`` term when no
    label is scored on its own).
    """

    objective: float
    scores: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SCORE_COLUMNS))

    @property
    def pooled(self) -> dict[str, Any]:
        """The ``(all)`` row as a dict."""
        return self.scores[self.scores["label"] == POOLED].iloc[0].to_dict()

    def result_title(self) -> str:
        return f"gap objective {self.objective:.4f}"

    def result_fields(self) -> dict[str, Any]:
        return {"objective": self.objective, **{k: self.pooled[k] for k in SCORE_COLUMNS[1:]}}


def kernel_mean(real: np.ndarray, *, degree: int = 3, coef0: float = 1.0,
                max_rows: int = 1000, random_state: int = 0) -> float:
    """Mean of KID's polynomial kernel over pairs of distinct real rows, ``||mu_P||^2``.

    KID estimates ``||mu_P - mu_Q||^2`` in the kernel's feature space; divided by this it is
    a relative distance that does not depend on the embedding's scale or dimension, so one
    constant can weigh it against the AUC whatever the embedding.
    """
    real = np.asarray(real, np.float64)
    if len(real) > max_rows:
        rows = np.random.default_rng(random_state).choice(len(real), max_rows, replace=False)
        real = real[np.sort(rows)]
    m = len(real)
    k = (real @ real.T / real.shape[1] + coef0) ** degree
    return float((k.sum() - np.trace(k)) / (m * (m - 1)))


def _score(real: np.ndarray, fake: np.ndarray, label: str, config: ObjectiveConfig,
           kid_ref: float) -> dict[str, Any]:
    auc, _ = classifier_two_sample_test(real, fake, cv=config.cv, alpha=config.alpha,
                                        random_state=config.random_state)
    gap = kid(real, fake, n_subsets=config.kid_subsets,
              subset_size=config.kid_subset_size, alpha=config.alpha,
              random_state=config.random_state)
    # KID is unbiased, so it dips below 0 by chance when the sets match: a lucky draw is
    # not rewarded. r / (1 + r) maps the relative KID into [0, 1), like 2 AUC - 1.
    rel = max(gap.estimate, 0.0) / kid_ref if kid_ref > 0 else 0.0
    term = (2.0 * auc.estimate - 1.0) + rel / (1.0 + rel)
    return {"label": label, "n_real": len(real), "n_fake": len(fake), "auc": auc.estimate,
            "auc_lo": auc.lo, "auc_hi": auc.hi, "kid": gap.estimate, "kid_lo": gap.lo,
            "kid_hi": gap.hi, "kid_rel": rel, "term": term}


def gap_objective(real: Any, fake: Any, real_labels: Sequence[Any] | None = None,
                  fake_labels: Sequence[Any] | None = None,
                  config: ObjectiveConfig | None = None) -> GapScore:
    """The tuning objective of ``fake`` (a trial's renders) against ``real``; lower is closer.

    For each label both sides have (``config.min_per_label`` samples or more each)::

        term = (2 AUC - 1) + r / (1 + r),   r = max(KID, 0) / kernel_mean(real)

    and the objective is the mean term over those labels, so every class counts alike
    whatever its share (without labels, or when none qualifies: the term of all samples).

    Why both: the classifier two-sample AUC is the most readable gap (0.5: cannot be told
    apart, 1.0: every render gives itself away) but it saturates at 1.0 while the renders are
    still far off, where every trial would tie; KID keeps falling as the sets approach, so
    it orders the trials there, and near the real data the AUC term decides. Each term is in
    [0, 1] (the AUC term is unclipped around 0 so that chance cancels out), so neither needs a
    scale fitted to the data; the KID is made relative to the real set's own kernel mean so
    the same weights hold for any embedding.
    """
    config = config or ObjectiveConfig()
    real, fake = check_pair(real, fake)
    kid_ref = kernel_mean(real, random_state=config.random_state)
    rows = []
    if config.per_label and real_labels is not None and fake_labels is not None:
        real_labels = np.asarray([str(v) for v in real_labels], object)
        fake_labels = np.asarray([str(v) for v in fake_labels], object)
        if len(real_labels) != len(real) or len(fake_labels) != len(fake):
            raise AnalysisError(f"got {len(real_labels)} real and {len(fake_labels)} fake "
                                f"labels for {len(real)} real and {len(fake)} fake vectors")
        for label in sorted(set(real_labels) & set(fake_labels)):
            r, f = real[real_labels == label], fake[fake_labels == label]
            if min(len(r), len(f)) >= config.min_per_label:
                rows.append(_score(r, f, label, config, kid_ref))
    rows.append(_score(real, fake, POOLED, config, kid_ref))
    scores = pd.DataFrame(rows, columns=list(SCORE_COLUMNS))
    terms = scores["term"].iloc[:-1] if len(rows) > 1 else scores["term"]
    return GapScore(float(terms.mean()), scores)
