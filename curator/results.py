"""Result objects: what a run or an analysis returns prints, tabulates and shows in notebooks.

Dataclass results mix in :class:`ResultMixin` for ``to_frame``, ``to_html`` and
``_repr_html_`` (FiftyOne Brain's pattern: a small object that can be saved and viewed).
"""

from __future__ import annotations

import html
import io
import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd


class ResultMixin:
    """``to_frame`` (one row per field), ``to_html`` and ``_repr_html_`` for dataclasses."""

    def result_title(self) -> str:
        return type(self).__name__

    def result_fields(self) -> dict[str, Any]:
        """The values shown; override to drop bulky fields or add derived ones."""
        return asdict(self)  # type: ignore[call-overload]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"value": self.result_fields()})

    def to_html(self) -> str:
        return f"<h4>{html.escape(self.result_title())}</h4>" + self.to_frame().to_html(
            escape=True)

    def _repr_html_(self) -> str:
        return self.to_html()


# -- analysis results (reports) ------------------------------------------------------------
SEVERITIES = ("info", "warning", "alert")


@dataclass(frozen=True)
class Finding:
    """One named observation a report leads with ("yaw side bias", "bg_kind predicts label").

    ``kind`` is a stable machine key (``"side_bias"``, ``"confounder"``, ``"missing_region"``,
    ``"gap"``, ...), ``subject`` what it is about (an attribute, a label, a stratum),
    ``message`` the sentence a curator reads, ``details`` the numbers behind it.
    """

    kind: str
    subject: str
    message: str
    severity: str = "warning"
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "subject": self.subject, "message": self.message,
                "severity": self.severity, "details": jsonable(self.details)}


@dataclass
class AnalysisResult:
    """What every report analysis returns: headline numbers, findings, tables and figures.

    ``summary`` holds scalars (the headline), ``tables`` named DataFrames (the first is the
    main one, returned by :meth:`to_frame`), ``findings`` the named observations, ``params``
    the arguments that produced it. Plots are drawn on demand by ``plot_fns`` (callables
    taking the result and returning a matplotlib Figure), so results stay light and JSON-able.
    """

    title: str
    summary: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    plot_fns: list[Callable[[AnalysisResult], Any]] = field(default_factory=list, repr=False)

    def to_frame(self) -> pd.DataFrame:
        """The main table (the first in ``tables``), or the summary as a one-column frame."""
        if self.tables:
            return next(iter(self.tables.values()))
        return pd.DataFrame({"value": self.summary})

    def finding(self, kind: str, subject: str | None = None) -> Finding | None:
        """The first finding of ``kind`` (about ``subject`` when given), or None."""
        for f in self.findings:
            if f.kind == kind and (subject is None or f.subject == subject):
                return f
        return None

    def figures(self) -> list[Any]:
        import matplotlib

        # Labels are user data: "$5" must be drawn as text, never parsed as mathtext.
        with matplotlib.rc_context({"text.parse_math": False}):
            return [fn(self) for fn in self.plot_fns]

    def to_dict(self, max_rows: int | None = 1000) -> dict[str, Any]:
        """JSON-able: summary, findings, params, notes and tables (``records``, capped)."""
        return {
            "title": self.title,
            "summary": jsonable(self.summary),
            "findings": [f.to_dict() for f in self.findings],
            "params": jsonable(self.params),
            "notes": list(self.notes),
            "tables": {name: frame_records(t, max_rows) for name, t in self.tables.items()},
        }

    def to_html(self, max_rows: int = 20, figures: bool = True, level: int = 3) -> str:
        """One HTML fragment: heading, findings, summary, inline SVG figures, tables."""
        h, sub = f"h{level}", f"h{level + 1}"
        parts = [f"<{h}>{html.escape(self.title)}</{h}>"]
        if self.findings:
            parts.append("<ul class='findings'>" + "".join(
                f"<li class='{html.escape(f.severity)}'><b>{html.escape(f.kind)}</b> "
                f"({html.escape(f.subject)}): {html.escape(f.message)}</li>"
                for f in self.findings) + "</ul>")
        if self.summary:
            parts.append(pd.DataFrame({"value": {k: _fmt_value(v) for k, v in
                                                 self.summary.items()}}).to_html(escape=True))
        if figures:
            for fig in self.figures():
                parts.append(f"<figure>{figure_svg(fig)}</figure>")
        for name, table in self.tables.items():
            if table.empty:
                parts.append(f"<p class='note'>{html.escape(name)}: none</p>")
                continue
            shown = f", first {max_rows}" if len(table) > max_rows else ""
            parts.append(f"<{sub}>{html.escape(name)} ({len(table):,} rows{shown})</{sub}>"
                         + table.head(max_rows).to_html(escape=True, index=False,
                                                        float_format=_fmt_float))
        for note in self.notes:
            parts.append(f"<p class='note'>{html.escape(note)}</p>")
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        return self.to_html()

    def __str__(self) -> str:
        head = ", ".join(f"{k} {_fmt_value(v)}" for k, v in list(self.summary.items())[:6])
        lines = [f"{self.title}: {head}" if head else self.title]
        lines += [f"  [{f.severity}] {f.kind} ({f.subject}): {f.message}"
                  for f in self.findings]
        return "\n".join(lines)


def _fmt_float(v: float) -> str:
    return f"{v:.4g}"


def _fmt_value(v: Any) -> Any:
    if isinstance(v, (float, np.floating)):
        return _fmt_float(float(v))
    return v


def jsonable(value: Any) -> Any:
    """Plain JSON types: numpy scalars and arrays, tuples, NaN (as None), nested mappings."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)


def frame_records(frame: pd.DataFrame, max_rows: int | None = 1000) -> list[dict[str, Any]]:
    """A DataFrame as JSON-able records (first ``max_rows``)."""
    head = frame if max_rows is None else frame.head(max_rows)
    return [jsonable(r) for r in head.to_dict(orient="records")]


def figure_svg(fig: Any) -> str:
    """A matplotlib Figure as inline SVG text, byte-stable (no date, fixed id salt), closed."""
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    # Text stays text (searchable, small); one font family keeps each label's style short.
    with plt.rc_context({"svg.hashsalt": "curator", "svg.fonttype": "none",
                         "font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans"]}):
        fig.savefig(buf, format="svg", metadata={"Date": None}, bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]  # drop the XML prolog and doctype: inline in HTML


def new_figure(width_in: float = 6.0, height_in: float = 3.2) -> tuple[Any, Any]:
    """A matplotlib (Figure, Axes) on the non-interactive Agg canvas (no display needed)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=100)
    return fig, fig.add_subplot(1, 1, 1)
