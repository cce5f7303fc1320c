"""imbalanced-learn's SMOTE family, subclassed to record what each new row was made from.

The subclasses override private imbalanced-learn methods (``_fit_resample``,
``_generate_samples``, ``_in_danger_noise``) whose code is the same in every release of
:data:`IMBLEARN_MIRRORED`; ``pyproject.toml`` pins that range, and ``tests/test_oversample.py``
holds each subclass's rows equal to imbalanced-learn's public sampler for the same seed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from imblearn.over_sampling import ADASYN, SMOTE, SMOTENC, BorderlineSMOTE
from sklearn.utils import check_random_state

from curator.stats import AnalysisError

#: The imbalanced-learn releases whose private SMOTE/ADASYN code these classes mirror
#: (``BaseSMOTE._make_samples``/``_generate_samples``/``_in_danger_noise``,
#: ``SMOTE._fit_resample`` and ``ADASYN._fit_resample`` are unchanged from 0.12.0 to 0.14.2
#: but for the ``n_jobs`` warning removed in 0.13; 0.11 has another ``_generate_samples``).
IMBLEARN_MIRRORED = ">=0.12,<0.15"


class _Recorder:
    """Mixin: keep what imblearn's ``_generate_samples`` was asked to interpolate."""

    def _generate_samples(self, X, nn_data, nn_num, rows, cols, steps, y_type=None, y=None):
        self.generated_.append((y_type, np.asarray(rows), np.asarray(nn_num[rows, cols]),
                                np.asarray(steps).ravel()))
        return super()._generate_samples(X, nn_data, nn_num, rows, cols, steps, y_type, y)


class RecordingSMOTE(_Recorder, SMOTE):
    """SMOTE whose ``fit_resample`` returns only the new rows, each one's draw in ``generated_``.

    imbalanced-learn's ``SMOTE._fit_resample`` (0.14), less its copy of ``X`` and the stack
    of the whole resampled set: the same draws in the same order, without two extra copies
    of the input in memory.
    """

    def _fit_resample(self, X, y):
        self._validate_estimator()
        new_X, new_y = [np.zeros((0, X.shape[1]), X.dtype)], [np.zeros(0, y.dtype)]
        for class_sample, n_samples in self.sampling_strategy_.items():
            if n_samples == 0:
                continue
            X_class = X[np.flatnonzero(y == class_sample)]
            self.nn_k_.fit(X_class)
            nns = self.nn_k_.kneighbors(X_class, return_distance=False)[:, 1:]
            X_new, y_new = self._make_samples(X_class, y.dtype, class_sample, X_class, nns,
                                              n_samples, 1.0)
            new_X.append(X_new)
            new_y.append(y_new)
        return np.vstack(new_X), np.hstack(new_y)


class RecordingADASYN(ADASYN):
    """ADASYN that records each new row's parents and returns only the new rows.

    imbalanced-learn's ``ADASYN._fit_resample`` (0.14) has no hook between drawing and
    interpolating, so its steps are repeated here draw for draw (the tests hold the output
    equal to imbalanced-learn's own).
    """

    def _fit_resample(self, X, y):
        self._validate_estimator()
        random_state = check_random_state(self.random_state)
        new_X, new_y = [np.zeros((0, X.shape[1]), X.dtype)], [np.zeros(0, y.dtype)]
        for class_sample, n_samples in self.sampling_strategy_.items():
            if n_samples == 0:
                continue
            X_class = X[np.flatnonzero(y == class_sample)]
            self.nn_.fit(X)
            nns = self.nn_.kneighbors(X_class, return_distance=False)[:, 1:]
            n_neighbors = self.nn_.n_neighbors - 1
            # Hardness: the share of each sample's neighbours from other strata.
            ratio_nn = np.sum(y[nns] != class_sample, axis=1) / n_neighbors
            if not np.sum(ratio_nn):
                raise AnalysisError(
                    f"adasyn: no sample of stratum {self.names_[class_sample]!r} has a "
                    "neighbour from another stratum, so ADASYN has no hardness to weigh by; "
                    "use --sampler smote")
            ratio_nn /= np.sum(ratio_nn)
            n_samples_generate = np.rint(ratio_nn * n_samples).astype(int)
            n_samples = int(np.sum(n_samples_generate))  # rounding may change the count
            if not n_samples:
                continue
            self.nn_.fit(X_class)
            nns = self.nn_.kneighbors(X_class, return_distance=False)[:, 1:]
            rows = np.repeat(np.arange(len(X_class)), n_samples_generate)
            cols = random_state.choice(n_neighbors, size=n_samples)
            diffs = X_class[nns[rows, cols]] - X_class[rows]
            steps = random_state.uniform(size=(n_samples, 1))
            new_X.append((X_class[rows] + steps * diffs).astype(X.dtype))
            new_y.append(np.full(n_samples, fill_value=class_sample, dtype=y.dtype))
            self.generated_.append((class_sample, rows, nns[rows, cols], steps.ravel()))
        return np.vstack(new_X), np.hstack(new_y)


class RecordingBorderlineSMOTE(_Recorder, BorderlineSMOTE):
    """Borderline-SMOTE recording its draws (imbalanced-learn's own ``_fit_resample``: the
    result starts with the input rows)."""


class RecordingSMOTENC(_Recorder, SMOTENC):
    """SMOTE-NC recording its draws (imbalanced-learn's own ``_fit_resample``)."""


def danger_rows(model: Any, X: np.ndarray, codes: np.ndarray, code: int) -> np.ndarray:
    """Mask over the rows of class ``code``: those a fitted Borderline-SMOTE ``model`` calls
    "in danger" (its own rule, so its interpolation bases can be named)."""
    members = np.flatnonzero(codes == code)
    return np.asarray(model._in_danger_noise(model.nn_m_, X[members], code, codes,
                                             kind="danger"))
