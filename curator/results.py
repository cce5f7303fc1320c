"""Result objects: what a run or an analysis returns prints, tabulates and shows in notebooks.

Dataclass results mix in :class:`ResultMixin` for ``to_frame``, ``to_html`` and
``_repr_html_`` (FiftyOne Brain's pattern: a small object that can be saved and viewed).
"""

from __future__ import annotations

import contextlib
import dataclasses
import html
import importlib
import inspect
import io
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from curator.errors import CuratorError

# Only classes and plot functions defined in our own packages are rebuilt from a saved
# result: a result file names what it holds, and loading it must never reach other code.
_TRUSTED_MODULES = ("curator", "generators", "reports")


class ResultFileError(CuratorError, ValueError):
    """A saved result that cannot be read back (not one, damaged, or naming foreign code)."""


def qualified_name(obj: Any) -> str:
    """``module:qualname`` of a class or function (what a saved result records)."""
    return f"{obj.__module__}:{obj.__qualname__}"


def nameable(obj: Any) -> bool:
    """Whether :func:`resolve_name` can find ``obj`` again (a module-level def or class of
    curator's packages; not a lambda, closure or ``functools.partial``)."""
    qualname = getattr(obj, "__qualname__", "")
    module = getattr(obj, "__module__", "") or ""
    return bool(qualname) and "<" not in qualname and module.split(".")[0] in _TRUSTED_MODULES


def resolve_name(name: str) -> Any:
    """The class or function a :func:`qualified_name` names, defined in curator's packages.

    The object must be *defined* where the name says (its own ``__module__`` and
    ``__qualname__``), so a name cannot reach through a module's imports (``os``, pandas).
    """
    module, _, qualname = str(name).partition(":")
    parts = qualname.split(".")
    if (module.split(".")[0] not in _TRUSTED_MODULES
            or not all(part.isidentifier() for part in module.split(".") + parts)):
        raise ResultFileError(f"{name!r} is not a curator class or function")
    try:
        obj: Any = importlib.import_module(module)
        for part in parts:
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        raise ResultFileError(f"{name!r} names no curator class or function (saved by "
                              "another version of curator?)") from None
    if (getattr(obj, "__module__", None) != module or getattr(obj, "__qualname__", None)
            != qualname or not (isinstance(obj, type) or inspect.isfunction(obj))):
        raise ResultFileError(f"{name!r} is not a curator class or function")
    return obj


def result_class(name: str) -> type:
    """The result class ``name`` records: a curator class that can rebuild itself."""
    cls = resolve_name(name)
    if not (isinstance(cls, type) and (hasattr(cls, "from_dict")
                                       or dataclasses.is_dataclass(cls))):
        raise ResultFileError(f"{name!r} is not a curator result class")
    return cls


def _lossless(value: Any) -> Any:
    """Like :func:`jsonable`, but NaN and infinities survive (tagged ``{"__float__": ...}``)."""
    if isinstance(value, (float, np.floating)) and not math.isfinite(value):
        return {"__float__": str(float(value))}
    if isinstance(value, Mapping):
        return {str(k): _lossless(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_lossless(v) for v in value]
    if isinstance(value, np.ndarray):
        return _lossless(value.tolist())
    return jsonable(value)


def encode(value: Any) -> Any:
    """JSON-able, losslessly for frames (columns, dtypes, index), arrays (dtype, shape),
    non-finite floats and nested results (tagged), for :func:`decode` to rebuild."""
    if isinstance(value, pd.DataFrame):
        out = {"__frame__": _lossless(value.to_dict(orient="records")),
               "columns": [str(c) for c in value.columns],
               "dtypes": [str(t) for t in value.dtypes]}
        if not value.index.equals(pd.RangeIndex(len(value))):
            out["index"] = _lossless(list(value.index))
            out["index_name"] = jsonable(value.index.name)
        return out
    if isinstance(value, np.ndarray):
        return {"__array__": _lossless(value), "dtype": value.dtype.str, "shape": list(value.shape)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"__result__": qualified_name(type(value)), "data": value.to_dict()
                if isinstance(value, (ResultMixin, AnalysisResult))
                else {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}}
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [encode(v) for v in value]
    return _lossless(value)


def _frame(value: Mapping[str, Any]) -> pd.DataFrame:
    records = [{k: decode(v) for k, v in row.items()} for row in value["__frame__"]]
    frame = pd.DataFrame.from_records(records, columns=value["columns"])
    for column, dtype in zip(value["columns"], value.get("dtypes", []), strict=False):
        with contextlib.suppress(TypeError, ValueError):
            frame[column] = frame[column].astype(dtype)
    if "index" in value:
        frame.index = pd.Index(decode(value["index"]), name=value.get("index_name"))
    return frame


def decode(value: Any) -> Any:
    """Inverse of :func:`encode`: frames, arrays, non-finite floats and nested results."""
    if isinstance(value, Mapping):
        if "__float__" in value:
            return float(value["__float__"])
        if "__frame__" in value:
            return _frame(value)
        if "__array__" in value:
            dtype = np.dtype(value["dtype"])
            data = [np.nan if v is None and dtype.kind in "fc" else v
                    for v in _flat(decode(value["__array__"]))]
            return np.asarray(data, dtype=dtype).reshape(value["shape"])
        if "__result__" in value:
            cls = result_class(value["__result__"])
            return cls.from_dict(value["data"]) if hasattr(cls, "from_dict") else cls(
                **{k: decode(v) for k, v in value["data"].items()})
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def _flat(values: Any) -> list[Any]:
    if not isinstance(values, list):
        return [values]
    return [x for v in values for x in _flat(v)]


def save_result(result: Any, path: str | Path) -> Path:
    """Write any result object (``to_dict``/``from_dict``) to a JSON file, atomically."""
    from curator.fileio import atomic_write_bytes

    path = Path(path)
    payload = {"type": qualified_name(type(result)), "data": result.to_dict(
        **({"max_rows": None} if isinstance(result, AnalysisResult) else {}))}
    # Key order is meaningful (the first table is the main one): kept as built, not sorted.
    atomic_write_bytes(path, json.dumps(payload, indent=1).encode())
    return path


def load_result(path: str | Path) -> Any:
    """Read back what :func:`save_result` wrote: an object of the recorded class."""
    try:
        payload = json.loads(Path(path).read_text())
        cls = result_class(payload["type"])
        return cls.from_dict(payload["data"])
    except ResultFileError as exc:
        raise ResultFileError(f"{path}: {exc}") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ResultFileError(f"{path} is not a saved curator result ({type(exc).__name__}: "
                              f"{exc}); write one with result.save(path)") from None


class Reloadable:
    """``save(path)`` and ``load(path)`` through :func:`save_result` / :func:`load_result`."""

    def save(self, path: str | Path) -> Path:
        """Write the whole result (for an AnalysisResult: every table row) to a JSON file."""
        return save_result(self, path)

    @classmethod
    def load(cls, path: str | Path) -> Any:
        """Read a saved result back; refuses a file that holds another class."""
        result = load_result(path)
        if not isinstance(result, cls):
            raise TypeError(f"{path} holds a {type(result).__name__}, not a {cls.__name__}")
        return result


class ResultMixin(Reloadable):
    """``to_frame``, ``to_html``, ``_repr_html_`` and ``to_dict``/``from_dict`` for dataclasses.

    ``to_dict`` is lossless JSON (frames and arrays tagged), so
    ``type(r).from_dict(r.to_dict())`` rebuilds an equal result; ``save``/``load`` go
    through a JSON file.
    """

    def to_dict(self) -> dict[str, Any]:
        return {f.name: encode(getattr(self, f.name))
                for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Any:
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: decode(v) for k, v in data.items() if k in names})

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

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        return cls(kind=data["kind"], subject=data["subject"], message=data["message"],
                   severity=data.get("severity", "warning"), details=dict(data.get("details", {})))


@dataclass
class AnalysisResult(Reloadable):
    """What every report analysis returns: headline numbers, findings, tables and figures.

    ``summary`` holds scalars (the headline), ``tables`` named DataFrames (the first is the
    main one, returned by :meth:`to_frame`), ``findings`` the named observations, ``params``
    the arguments that produced it. Plots are drawn on demand by ``plot_fns`` (module-level
    functions taking the result and returning a matplotlib Figure), so results stay light
    and JSON-able; what a plot needs beyond the tables (a distance per sample, a heatmap's
    shares) goes in ``plot_data``, which is saved with the complete form but never shown.
    """

    title: str
    summary: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    plot_fns: list[Callable[[AnalysisResult], Any]] = field(default_factory=list, repr=False)
    plot_data: dict[str, Any] = field(default_factory=dict, repr=False)

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
        """JSON-able: summary, findings, params, notes and tables (``records``, capped).

        ``max_rows=None`` gives the complete form, which :meth:`from_dict` rebuilds
        exactly: tables keep every row, their columns and dtypes, NaN and infinities
        survive, and the plots are recorded by name with their ``plot_data``.
        """
        if max_rows is not None:
            return {
                "title": self.title,
                "summary": jsonable(self.summary),
                "findings": [f.to_dict() for f in self.findings],
                "params": jsonable(self.params),
                "notes": list(self.notes),
                "tables": {name: frame_records(t, max_rows) for name, t in self.tables.items()},
            }
        out = {
            "title": self.title,
            "summary": encode(self.summary),
            "findings": [{**f.to_dict(), "details": encode(f.details)} for f in self.findings],
            "params": encode(self.params),
            "notes": list(self.notes),
            "tables": {name: encode(t) for name, t in self.tables.items()},
        }
        if self.plot_fns:
            out["plots"] = [qualified_name(fn) for fn in self.plot_fns if nameable(fn)]
        if self.plot_data:
            out["plot_data"] = encode(self.plot_data)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AnalysisResult:
        """Rebuild a result from :meth:`to_dict`: exactly from the complete form, from the
        capped form (``report.json``) with tables rebuilt from their records."""
        tables = {name: decode(rows) if isinstance(rows, Mapping) else
                  pd.DataFrame.from_records(rows) for name, rows in data.get("tables", {}).items()}
        plots = [resolve_name(name) for name in data.get("plots", [])]
        if any(isinstance(fn, type) for fn in plots):
            raise ResultFileError(f"plots must name functions, got {data.get('plots')!r}")
        findings = [Finding.from_dict({**f, "details": decode(f.get("details", {}))})
                    for f in data.get("findings", [])]
        return cls(
            title=data["title"], summary=decode(dict(data.get("summary", {}))), tables=tables,
            findings=findings, params=decode(dict(data.get("params", {}))),
            notes=list(data.get("notes", [])), plot_fns=plots,
            plot_data=decode(data.get("plot_data", {})))

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
