"""The proxy model of an experiment: a fast scikit-learn classifier on embedding vectors.

Which proxies and training regimes exist, how one is fitted on a mix (mixed or pretrain
then fine-tune), and how it is scored on the held-out split.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from curator.experiments.data import ExperimentError

PROXIES = ("logistic", "mlp", "hgb")
#: Models whose warm start continues from the pretrained weights. (Gradient boosting's warm
#: start re-bins the features on the new data, so its old trees would read wrong bins.)
PRETRAINABLE = ("logistic", "mlp")
REGIMES = ("mixed", "pretrain", "weighted")
#: Optimiser iterations of the fine-tuning step of the ``pretrain`` regime.
FINETUNE_ITER = 50


def make_proxy(name: str, random_state: int) -> Any:
    """A fast scikit-learn classifier on embedding vectors."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    if name == "logistic":
        return LogisticRegression(max_iter=1000, random_state=random_state)
    if name == "mlp":
        return MLPClassifier(hidden_layer_sizes=(64,), max_iter=300, random_state=random_state)
    if name == "hgb":
        return HistGradientBoostingClassifier(max_iter=100, early_stopping=False,
                                              random_state=random_state)
    raise ExperimentError(f"model must be one of {', '.join(PROXIES)}, got {name!r}")


def check_model_regimes(model: str, regimes: Sequence[str]) -> None:
    """A known proxy, known regimes, ``pretrain`` only for a model that can continue, and
    ``weighted`` only for a model whose ``fit`` takes ``sample_weight``."""
    if model not in PROXIES:
        raise ExperimentError(f"model must be one of {', '.join(PROXIES)}, got {model!r}")
    for regime in regimes:
        if regime not in REGIMES:
            raise ExperimentError(f"regime must be one of {', '.join(REGIMES)}, got "
                                  f"{regime!r}")
    if "pretrain" in regimes and model not in PRETRAINABLE:
        raise ExperimentError(f"the pretrain regime needs a model that continues training "
                              f"from its weights ({', '.join(PRETRAINABLE)}), not {model!r}")
    if "weighted" in regimes and not takes_sample_weight(model):
        import sklearn

        # MLPClassifier.fit takes sample_weight from scikit-learn 1.7 on; resampling would
        # emulate it only in expectation, so the regime is refused rather than approximated.
        raise ExperimentError(f"the weighted regime needs a model whose fit takes "
                              f"sample_weight; {model!r} does not in scikit-learn "
                              f"{sklearn.__version__} (mlp needs >= 1.7)")


def takes_sample_weight(model: str) -> bool:
    """Whether the proxy's ``fit`` accepts ``sample_weight`` in the installed scikit-learn."""
    import inspect

    return "sample_weight" in inspect.signature(make_proxy(model, 0).fit).parameters


@dataclass
class Proxy:
    """A fitted proxy: the scaler and the classifier, and how it was trained."""

    scaler: Any
    model: Any
    regime: str
    note: str = ""

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.model.predict(self.scaler.transform(X))


def fit_proxy(model: str, X_real: np.ndarray, y_real: np.ndarray, X_syn: np.ndarray,
              y_syn: np.ndarray, *, regime: str = "mixed", synthetic_weight: float = 1.0,
              random_state: int = 0) -> Proxy:
    """Train the proxy on one mix.

    ``mixed``: one fit on real and synthetic together. ``pretrain`` (logistic, mlp): fit on
    the synthetic part, then continue from those weights on the real part (warm start, at
    most :data:`FINETUNE_ITER` more iterations). Either part empty, or a
    real part lacking some of the synthetic labels, trains as ``mixed`` (noted).
    ``weighted``: one fit on the whole mix, each synthetic row weighing
    ``synthetic_weight`` (a real row 1); at weight 1 it is the ``mixed`` fit, exactly. The
    scaler is fitted unweighted, as in ``mixed``.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.preprocessing import StandardScaler

    check_model_regimes(model, [regime])
    X_all = np.concatenate([X_real, X_syn])
    y_all = np.concatenate([y_real, y_syn])
    if len(X_all) == 0 or len(set(y_all.tolist())) < 2:
        raise ExperimentError("a training mix needs samples of at least two labels")
    scaler = StandardScaler().fit(X_all)
    clf = make_proxy(model, random_state)
    note = ""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if regime == "pretrain" and len(X_real) and len(X_syn) \
                and set(y_real.tolist()) == set(y_syn.tolist()):
            clf.fit(scaler.transform(X_syn), y_syn)
            clf.set_params(warm_start=True, max_iter=FINETUNE_ITER)
            clf.fit(scaler.transform(X_real), y_real)
        elif regime == "weighted" and synthetic_weight != 1:
            weight = np.r_[np.ones(len(X_real)), np.full(len(X_syn), float(synthetic_weight))]
            clf.fit(scaler.transform(X_all), y_all, sample_weight=weight)
        else:
            if regime == "pretrain":
                note = "trained as mixed (a part is empty or lacks labels)"
                regime = "mixed"
            clf.fit(scaler.transform(X_all), y_all)
    return Proxy(scaler, clf, regime, note)



def score(proxy: Proxy, X: np.ndarray, y: np.ndarray, strata: np.ndarray
          ) -> tuple[dict[str, float], dict[str, float]]:
    """Accuracy and balanced accuracy overall, and accuracy per held-out stratum."""
    from sklearn.metrics import balanced_accuracy_score

    pred = proxy.predict(X)
    hit = pred == y
    per = pd.Series(hit).groupby(strata).mean()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # labels the mix lacks: balanced accuracy warns
        bal = balanced_accuracy_score(y, pred)
    return ({"accuracy": float(hit.mean()), "balanced_accuracy": float(bal)},
            {str(k): float(v) for k, v in per.items()})
