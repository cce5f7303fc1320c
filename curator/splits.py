"""Deterministic split assignment from content ids.

A split spec is either one name (``"train"``) or fractions (``"train=0.8,test=0.2"``); with
fractions, a sample's split depends only on its id, so it is stable across machines and runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from curator.errors import CuratorError

_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")


@dataclass(frozen=True)
class SplitSpec:
    """Parsed split spec: ``names`` with cumulative upper bounds in [0, 1]."""

    names: tuple[str, ...]
    bounds: tuple[float, ...]

    @classmethod
    def parse(cls, spec: str) -> SplitSpec:
        text = spec.strip()
        if "=" not in text:
            if not _NAME.match(text):
                raise CuratorError(f"split name {spec!r} must be lower-case, e.g. 'train'")
            return cls((text,), (1.0,))
        names, fractions = [], []
        for part in text.split(","):
            name, _, value = part.partition("=")
            name = name.strip()
            if not _NAME.match(name):
                raise CuratorError(f"split spec {spec!r}: bad split name {name!r}")
            try:
                fraction = float(value)
            except ValueError:
                raise CuratorError(f"split spec {spec!r}: {value!r} is not a number") from None
            if not 0 <= fraction <= 1:
                raise CuratorError(f"split spec {spec!r}: fraction {fraction} is not in [0, 1]")
            names.append(name)
            fractions.append(fraction)
        if len(set(names)) != len(names):
            raise CuratorError(f"split spec {spec!r} names a split twice")
        total = sum(fractions)
        if abs(total - 1.0) > 1e-6:
            raise CuratorError(f"split spec {spec!r}: fractions sum to {total:g}, not 1")
        bounds, acc = [], 0.0
        for f in fractions:
            acc += f
            bounds.append(acc)
        bounds[-1] = 1.0
        return cls(tuple(names), tuple(bounds))

    def assign(self, sample_id: str) -> str:
        """The split of ``sample_id`` (a hex content id)."""
        if len(self.names) == 1:
            return self.names[0]
        u = int(sample_id[:13], 16) / float(16**13)
        for name, bound in zip(self.names, self.bounds, strict=True):
            if u < bound:
                return name
        return self.names[-1]

    def __str__(self) -> str:
        if len(self.names) == 1:
            return self.names[0]
        prev, parts = 0.0, []
        for name, bound in zip(self.names, self.bounds, strict=True):
            parts.append(f"{name}={bound - prev:g}")
            prev = bound
        return ",".join(parts)
