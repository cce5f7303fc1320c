"""The selection result and the selector base class every selector shares.

:class:`Selection` is what a selector returns (ids, distances, reasons, summary tables) and
records the selector that made it; :class:`Selector` is the estimator base (params, config).
"""

from __future__ import annotations

import copy
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from curator.errors import CuratorError
from curator.results import ResultMixin, decode, qualified_name, resolve_name


class SelectionError(CuratorError, ValueError):
    """A selection request is impossible or malformed (sizes, quotas, ratios, ids)."""


@dataclass
class Selection(ResultMixin):
    """A chosen subset: one row per selected sample, with why it was chosen.

    ``frame`` has at least ``sample_id``, ``distance`` and ``reason``; ``summary`` is the
    per-target / per-stratum table; ``tables`` holds extra tables (duplicate groups,
    leakage); ``stats`` scalar facts (coverage radius, thresholds). ``selector_config``
    names the :class:`Selector` and the parameters that made it (see :meth:`selector`);
    it is ``None`` for a selection built by hand.
    """

    method: str
    frame: pd.DataFrame
    params: dict[str, Any] = field(default_factory=dict)
    summary: pd.DataFrame | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    selector_config: dict[str, Any] | None = None

    @property
    def ids(self) -> list[str]:
        return self.frame["sample_id"].astype(str).tolist()

    def __len__(self) -> int:
        return len(self.frame)

    def selector(self) -> Selector:
        """A new, unfitted selector with the parameters that made this selection: call its
        ``select`` on the same data to make the same selection again."""
        if self.selector_config is None:
            raise SelectionError(f"this {self.method!r} selection records no selector to "
                                 "rebuild (it was not made by a curator.select selector)")
        return Selector.from_config(self.selector_config)

    def to_frame(self) -> pd.DataFrame:
        return self.frame

    def __str__(self) -> str:
        facts = ", ".join(f"{k} {format_stat(v)}" for k, v in self.stats.items())
        return f"{self.method}: {len(self):,} sample(s) selected" + (f" ({facts})" if facts
                                                                      else "")

    def to_html(self, max_rows: int = 20) -> str:
        parts = [f"<h4>{html.escape(self.method)} selection: {len(self):,} samples</h4>"]
        if self.stats:
            parts.append(pd.DataFrame({"value": self.stats}).to_html(escape=True))
        if self.summary is not None:
            parts.append(self.summary.to_html(escape=True, index=False))
        for name, table in self.tables.items():
            parts.append(f"<h5>{html.escape(name)} ({len(table):,})</h5>"
                         + table.head(max_rows).to_html(escape=True, index=False))
        parts.append(self.frame.head(max_rows).to_html(escape=True, index=False))
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        return self.to_html()


class Selector(BaseEstimator):
    """Base of the selectors: parameters in ``__init__`` (stored unmodified), data in
    ``select``.

    ``select(...)`` validates and returns a :class:`Selection` recording this selector's
    class and parameters (:meth:`config`), so the selection can be described and re-run;
    ``fit(...)`` runs the same and keeps the result as ``selection_``. Selectors clone
    with :func:`sklearn.base.clone`.
    """

    #: the ``Selection.method`` this selector writes
    method: str = ""

    def select(self, *args: Any, **kwargs: Any) -> Selection:
        raise NotImplementedError

    def fit(self, *args: Any, **kwargs: Any) -> Selector:
        """Run :meth:`select` on the same arguments; the result is ``selection_``."""
        self.selection_ = self.select(*args, **kwargs)
        return self

    def config(self) -> dict[str, Any]:
        """``{"selector": "module:Class", "params": {...}}``: what :meth:`from_config` needs."""
        return {"selector": qualified_name(type(self)),
                "params": copy.deepcopy(self.get_params(deep=False))}

    @staticmethod
    def from_config(config: Mapping[str, Any]) -> Selector:
        """The selector a :meth:`config` (or its JSON form, from ``Selection.to_dict``)
        describes, unfitted."""
        cls = resolve_name(config["selector"])
        if not (isinstance(cls, type) and issubclass(cls, Selector)):
            raise SelectionError(f"{config['selector']!r} is not a curator selector")
        return cls(**decode(dict(config.get("params", {}))))

    def _selection(self, frame: pd.DataFrame, **parts: Any) -> Selection:
        """The result of one ``select`` call, recording this selector."""
        return Selection(self.method, frame, selector_config=self.config(), **parts)


def format_stat(v: Any) -> str:
    """A fact as printed in summaries: floats to 4 significant digits."""
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def check_ids(ids: Sequence[str] | None, n: int, what: str) -> np.ndarray:
    """``ids`` as an object array of ``n`` values (positions ``"0"``, ``"1"``, ... if
    ``None``)."""
    if ids is None:
        return np.arange(n).astype(str).astype(object)
    arr = np.asarray(list(ids), dtype=object)
    if len(arr) != n:
        raise SelectionError(f"{what}: {len(arr)} ids for {n} vectors")
    return arr
