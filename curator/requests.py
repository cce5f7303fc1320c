"""Generation requests: "render N more samples of label L with yaw in [30, 60]", and
:class:`RequestsResult`, the analysis result that proposes them.

Reports turn coverage gaps and missing attribute x label cells into requests; the generator
stage (``generators.requests``) turns a request into recipe overrides. A request names
attributes by their sample column (``pose_yaw_deg``), never by recipe internals.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from curator.errors import CuratorError
from curator.results import AnalysisResult
from curator.validation import check_scalar


class RequestError(CuratorError, ValueError):
    """A generation request is malformed (count, ranges, values)."""


@dataclass(frozen=True)
class GenerationRequest:
    """``n`` samples, optionally of ``label``, with numeric attributes inside ``ranges``
    (``{column: (lo, hi)}``) and categorical ones among ``values`` (``{column: [v, ...]}``).

    ``recipe`` is the generator recipe the request is meant for (the ``gen_recipe`` of the
    synthetic samples it complements) when known; ``reason`` says which analysis asked.
    """

    n: int
    label: str | None = None
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    values: dict[str, list[str]] = field(default_factory=dict)
    recipe: str | None = None
    reason: str = ""

    def __post_init__(self) -> None:
        check_scalar(self.n, "n", min_val=1, error=RequestError,
                     message="a generation request needs n >= 1 samples, got {value!r}")
        for col, rng in self.ranges.items():
            if len(rng) != 2 or not all(isinstance(x, (int, float)) and math.isfinite(x)
                                        for x in rng) or rng[0] > rng[1]:
                raise RequestError(f"range of {col!r} must be two finite numbers lo <= hi, "
                                   f"got {rng!r}")
        for col, vals in self.values.items():
            if not vals:
                raise RequestError(f"values of {col!r} must list at least one value")

    def describe(self) -> str:
        """``"40 x label 3, pose_yaw_deg 30..60"``."""
        parts = [f"{self.n} x" + (f" label {self.label}" if self.label is not None else
                                  " any label")]
        parts += [f"{c} {lo:.4g}..{hi:.4g}" for c, (lo, hi) in self.ranges.items()]
        parts += [f"{c} in {{{', '.join(map(str, v))}}}" for c, v in self.values.items()]
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "label": self.label,
                "ranges": {c: [float(lo), float(hi)] for c, (lo, hi) in self.ranges.items()},
                "values": {c: [str(v) for v in vals] for c, vals in self.values.items()},
                "recipe": self.recipe, "reason": self.reason}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "request") -> GenerationRequest:
        if not isinstance(data, Mapping):
            raise RequestError(f"{where}: a request must be a mapping, got "
                               f"{type(data).__name__}")
        unknown = set(data) - {"n", "label", "ranges", "values", "recipe", "reason"}
        if unknown:
            raise RequestError(f"{where}: unknown key(s) {sorted(unknown)}; a request has n, "
                               "label, ranges, values, recipe, reason")
        try:
            ranges = {}
            for c, r in (data.get("ranges") or {}).items():
                if isinstance(r, (str, bytes)) or len(r) != 2:
                    raise RequestError(f"range of {c!r} must be [lo, hi], got {r!r}")
                ranges[str(c)] = (float(r[0]), float(r[1]))
            values = {str(c): [str(v) for v in vals]
                      for c, vals in (data.get("values") or {}).items()}
            label = data.get("label")
            return cls(n=int(data["n"]), label=None if label is None else str(label),
                       ranges=ranges, values=values, recipe=data.get("recipe"),
                       reason=str(data.get("reason", "")))
        except RequestError as exc:
            raise RequestError(f"{where}: {exc}") from None
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise RequestError(f"{where}: malformed request ({exc}); expected e.g. "
                               '{"n": 40, "label": "3", "ranges": {"pose_yaw_deg": [30, 60]}}'
                               ) from None


@dataclass
class RequestsResult(AnalysisResult):
    """An :class:`AnalysisResult` that also carries the generation requests it proposes
    (``to_dict`` lists them under ``requests``; ``from_dict`` rebuilds them)."""

    requests: list[GenerationRequest] = field(default_factory=list)

    def to_dict(self, max_rows: int | None = 1000) -> dict[str, Any]:
        out = super().to_dict(max_rows)
        out["requests"] = [r.to_dict() for r in self.requests]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Any:
        result = super().from_dict(data)
        result.requests = [GenerationRequest.from_dict(r, f"requests[{i}]")
                           for i, r in enumerate(data.get("requests", []))]
        return result


def requests_frame(requests: Sequence[GenerationRequest]) -> pd.DataFrame:
    """One row per request: n, label, recipe, the ranges/values as text, reason."""
    return pd.DataFrame({
        "n": [r.n for r in requests],
        "label": [r.label for r in requests],
        "recipe": [r.recipe for r in requests],
        "attributes": [GenerationRequest(1, None, r.ranges, r.values).describe()
                       .removeprefix("1 x any label").lstrip(", ") for r in requests],
        "reason": [r.reason for r in requests],
    }, columns=["n", "label", "recipe", "attributes", "reason"])


def requests_json(requests: Iterable[GenerationRequest]) -> str:
    """The JSON file ``curator generate --requests`` reads (a list, stable key order)."""
    return json.dumps({"requests": [r.to_dict() for r in requests]}, indent=2) + "\n"


def parse_requests(text: str, where: str = "requests") -> list[GenerationRequest]:
    """Requests from JSON text: ``{"requests": [...]}`` or a bare list."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RequestError(f"{where}: not valid JSON: {exc}") from None
    items = data.get("requests") if isinstance(data, Mapping) else data
    if not isinstance(items, list):
        raise RequestError(f"{where}: expected {{\"requests\": [...]}} or a list of requests")
    return [GenerationRequest.from_dict(item, f"{where}[{i}]") for i, item in enumerate(items)]
