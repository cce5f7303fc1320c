"""Result objects: what a run or an analysis returns prints, tabulates and shows in notebooks.

Dataclass results mix in :class:`ResultMixin` for ``to_frame``, ``to_html`` and
``_repr_html_`` (FiftyOne Brain's pattern: a small object that can be saved and viewed).
"""

from __future__ import annotations

import html
from dataclasses import asdict
from typing import Any

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
