"""Attribute targets: ``"pose_yaw_deg=30..60,color_temp_k=3200"`` parsed into points.

:func:`parse_target` reads one target; :func:`target_points` spreads ranges over points and
splits each target's quota among them, ready for the nearest-to-targets selector.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from curator.select.result import SelectionError, format_stat
from curator.validation import check_scalar


def _num(v: Any) -> Any:
    return float(v) if isinstance(v, (int, float, np.floating, np.integer)) else v


def parse_target(text: str) -> dict[str, Any]:
    """``"pose_yaw_deg=30..60,color_temp_k=3200,bg_kind=texture"`` -> a target spec.

    ``lo..hi`` is a range; numbers become floats; anything else stays a string.
    """
    spec: dict[str, Any] = {}
    for part in [p for p in text.split(",") if p.strip()]:
        name, sep, value = part.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or not value:
            raise SelectionError(f"bad target {text!r}: write column=value or column=lo..hi, "
                                 "comma separated, e.g. 'pose_yaw_deg=30..60,color_temp_k=3200'")
        lo, dots, hi = value.partition("..")
        if dots:
            try:
                a, b = float(lo), float(hi)
            except ValueError:
                raise SelectionError(f"bad range {value!r} for {name!r} in target {text!r}: "
                                     "write lo..hi with numbers") from None
            spec[name] = (min(a, b), max(a, b))
        else:
            try:
                spec[name] = float(value)
            except ValueError:
                spec[name] = value
    if not spec:
        raise SelectionError(f"empty target {text!r}")
    return spec


def target_points(specs: Sequence[Mapping[str, Any]], *, steps: int = 3,
                  k: int = 5) -> tuple[pd.DataFrame, np.ndarray]:
    """Attribute rows to search for, and their quotas, from target specs.

    A range ``(lo, hi)`` becomes ``steps`` evenly spaced values (all ranges of a target
    combined); the target's ``k`` is split evenly over its points. The ``target`` column
    names each point (``T1 pose_yaw_deg=45``).
    """
    check_scalar(steps, "steps", min_val=1, error=SelectionError,
                 message="{name} must be >= 1, got {value}")
    rows: list[dict[str, Any]] = []
    quotas: list[int] = []
    for t, spec in enumerate(specs, start=1):
        grids = [np.linspace(v[0], v[1], steps) if isinstance(v, tuple) else [v]
                 for v in spec.values()]
        mesh = [dict(zip(spec, combo, strict=True))
                for combo in itertools.product(*grids)]
        share = [k // len(mesh) + (i < k % len(mesh)) for i in range(len(mesh))]
        for point, q in zip(mesh, share, strict=True):
            label = ",".join(f"{c}={format_stat(_num(v))}" for c, v in point.items())
            rows.append({"target": f"T{t} {label}", **point})
            quotas.append(q)
    return pd.DataFrame(rows), np.asarray(quotas, np.int64)
