"""The ``attributes`` backend: the "big table" encoder for finding shots by pose and light.

Chosen numeric attributes are standardised, angles in degrees become (sin, cos), categorical
ones are one-hot encoded; each column is weighted, so Euclidean distance reads as "how
different are these shots in yaw, colour temperature, lighting, ...".
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pyarrow as pa

from curator.embed.base import Embedder, EmbeddingError
from curator.schema import CORE_COLUMNS

#: Attributes never picked automatically: ids, seeds, indices and JSON blobs say nothing
#: about what a shot looks like.
_AUTO_EXCLUDE = re.compile(r"(^|_)(seed|index|id|ids|json|hash)$|^gen_classes$|^gen_recipe$")


def auto_columns(schema: pa.Schema, max_categories: int | None = None) -> list[str]:
    """Attribute columns the encoder uses by default: flat numbers, booleans and strings."""
    out = []
    for f in schema:
        if f.name in CORE_COLUMNS or _AUTO_EXCLUDE.search(f.name):
            continue
        t = f.type
        if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t) \
                or pa.types.is_string(t) or pa.types.is_large_string(t) \
                or pa.types.is_dictionary(t):
            out.append(f.name)
    return out


class AttributeEmbedder(Embedder):
    """Standardised, weighted sample attributes as one vector.

    Parameters
    ----------
    columns
        Attribute columns to encode; ``None`` picks every flat numeric, boolean or string
        attribute except ids, seeds and indices (resolved once, at fit).
    weights
        ``{column: weight}``; a column's contribution to distances is multiplied by it
        (default 1). A weight of 0 drops the column.
    cyclic_deg
        Columns holding angles in degrees, encoded as (sin, cos) so 179° is near -179°.
    max_categories
        A string column with more distinct values than this is refused (it is probably an
        identifier); list it out of ``columns`` or raise the limit.

    Numeric columns are standardised with the fit mean and standard deviation; a missing
    value sits at the mean. A categorical value is one-hot encoded and scaled by
    ``weight/sqrt(2)``, so two different categories are ``weight`` apart; a value unseen at
    fit is equidistant from all known ones.
    """

    name: ClassVar[str] = "attributes"
    version: ClassVar[str] = "1"

    def __init__(self, columns: Sequence[str] | None = None,
                 weights: Mapping[str, float] | None = None,
                 cyclic_deg: Sequence[str] | None = None, max_categories: int = 64) -> None:
        self.columns = columns
        self.weights = weights
        self.cyclic_deg = cyclic_deg
        self.max_categories = max_categories

    # The engine reads only what the encoder needs.
    @property
    def input_columns(self) -> tuple[str, ...]:  # type: ignore[override]
        cols = self.columns_ if hasattr(self, "columns_") else (self.columns or ())
        return ("sample_id", *cols)

    def required_columns(self, schema: pa.Schema) -> list[str]:
        if hasattr(self, "columns_"):
            return list(self.columns_)
        if self.columns is not None:
            return list(self.columns)
        return auto_columns(schema, self.max_categories)

    def _weight(self, col: str) -> float:
        w = (self.weights or {}).get(col, 1.0)
        if not isinstance(w, (int, float)) or not math.isfinite(w) or w < 0:
            raise EmbeddingError(f"attributes: weight for {col!r} must be a number >= 0, "
                                 f"got {w!r}")
        return float(w)

    def fit(self, rows: pd.DataFrame, y: Any = None) -> AttributeEmbedder:
        cols = list(self.columns) if self.columns is not None else [
            c for c in rows.columns if c != "sample_id"]
        unknown = [c for c in (*(self.weights or {}), *(self.cyclic_deg or ())) if c not in cols]
        if unknown:
            raise EmbeddingError(f"attributes: weights/cyclic_deg name column(s) {unknown} "
                                 f"that are not encoded; encoded columns: {cols}")
        missing = [c for c in cols if c not in rows.columns]
        if missing:
            raise EmbeddingError(f"attributes: column(s) {missing} are not in the samples; "
                                 f"available: {', '.join(map(str, rows.columns))}")
        if not cols:
            raise EmbeddingError("attributes: no columns to encode; pass columns=[...]")
        kinds, centers, scales, cats = [], [], [], []
        cyclic = set(self.cyclic_deg or ())
        for c in cols:
            w = self._weight(c)
            s = rows[c]
            if c in cyclic:
                values = _numeric(s, c)
                kinds.append("cyclic")
                centers.append(0.0)
                scales.append(w / math.sqrt(2.0))
                cats.append("")
            elif _is_numeric(s):
                values = _numeric(s, c)
                finite = values[np.isfinite(values)]
                mean = float(finite.mean()) if finite.size else 0.0
                std = float(finite.std()) if finite.size else 0.0
                kinds.append("numeric")
                centers.append(mean)
                scales.append(w / std if std > 0 else 0.0)
                cats.append("")
            else:
                levels = sorted({str(v) for v in s.dropna().tolist()})
                if len(levels) > self.max_categories:
                    raise EmbeddingError(
                        f"attributes: column {c!r} has {len(levels)} distinct values (more than "
                        f"max_categories={self.max_categories}); it looks like an identifier. "
                        "Leave it out of columns or raise max_categories")
                kinds.append("categorical")
                centers.append(0.0)
                scales.append(w / math.sqrt(2.0))
                cats.append("\x1f".join(levels))
        self.columns_ = np.asarray(cols, dtype=str)
        self.kinds_ = np.asarray(kinds, dtype=str)
        self.centers_ = np.asarray(centers, np.float64)
        self.scales_ = np.asarray(scales, np.float64)
        self.categories_ = np.asarray(cats, dtype=str)
        return self

    def feature_names(self) -> list[str]:
        """Names of the output dimensions (``yaw_deg``, ``yaw_deg:sin``, ``bg_kind=flat``)."""
        self._check_fitted()
        names: list[str] = []
        for c, kind, levels in zip(self.columns_, self.kinds_, self.categories_, strict=True):
            if kind == "numeric":
                names.append(str(c))
            elif kind == "cyclic":
                names += [f"{c}:sin", f"{c}:cos"]
            else:
                names += [f"{c}={v}" for v in str(levels).split("\x1f") if levels]
        return names

    def transform(self, rows: pd.DataFrame) -> np.ndarray:
        self._check_fitted()
        missing = [c for c in self.columns_ if c not in rows.columns]
        if missing:
            raise EmbeddingError(f"attributes: rows lack column(s) {missing}")
        parts = []
        for c, kind, center, scale, levels in zip(self.columns_, self.kinds_, self.centers_,
                                                  self.scales_, self.categories_, strict=True):
            s = rows[str(c)]
            if kind == "numeric":
                v = (_numeric(s, c) - center) * scale
                parts.append(np.where(np.isfinite(v), v, 0.0)[:, None])
            elif kind == "cyclic":
                rad = np.deg2rad(_numeric(s, c))
                sc = np.stack([np.sin(rad), np.cos(rad)], axis=1) * scale
                parts.append(np.where(np.isfinite(sc), sc, 0.0))
            else:
                lv = [v for v in str(levels).split("\x1f") if levels]
                codes = pd.Categorical(s.astype("string"), categories=lv).codes
                onehot = np.zeros((len(s), len(lv)), np.float64)
                hit = codes >= 0
                onehot[np.flatnonzero(hit), codes[hit]] = scale
                parts.append(onehot)
        return np.concatenate(parts, axis=1).astype(np.float32) if parts else \
            np.zeros((len(rows), 0), np.float32)

    def get_state(self) -> dict[str, np.ndarray]:
        if not hasattr(self, "columns_"):
            return {}
        return {"columns": self.columns_, "kinds": self.kinds_, "centers": self.centers_,
                "scales": self.scales_, "categories": self.categories_}

    def set_state(self, state: dict[str, np.ndarray]) -> AttributeEmbedder:
        self.columns_ = np.asarray(state["columns"], dtype=str)
        self.kinds_ = np.asarray(state["kinds"], dtype=str)
        self.centers_ = np.asarray(state["centers"], np.float64)
        self.scales_ = np.asarray(state["scales"], np.float64)
        self.categories_ = np.asarray(state["categories"], dtype=str)
        return self


def _is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)


def _numeric(s: pd.Series, column: Any) -> np.ndarray:
    try:
        return pd.to_numeric(s, errors="raise").astype("float64").to_numpy(na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise EmbeddingError(f"attributes: column {column!r} must be numeric ({exc})") from None
