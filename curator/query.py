"""Row filters written as text: ``--where "COLUMN OP VALUE"`` parsed into the
``(column, op, value)`` tuples the store, the embedder and the app filter with.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from curator.errors import CuratorError

_WHERE = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s*(==|!=|<=|>=|<|>|not in|in)\s*(.+?)\s*$")


def parse_where(text: str) -> tuple[str, str, Any]:
    """``"gen_recipe == 'objects'"`` -> ``("gen_recipe", "==", "objects")``.

    The value is a Python literal (``3``, ``'real'``, ``['a', 'b']``) or else a bare word.
    """
    m = _WHERE.match(text)
    if not m:
        raise CuratorError(f"bad --where {text!r}: write COLUMN OP VALUE, e.g. "
                           "\"source == 'real'\" or \"pose_yaw_deg >= 30\" (OP: == != < <= > "
                           ">= in 'not in')")
    col, op, raw = m.groups()
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = raw
    if op in ("in", "not in") and not isinstance(value, (list, tuple, set)):
        raise CuratorError(f"bad --where {text!r}: '{op}' needs a list like ['a', 'b']")
    return col, op, value


def parse_wheres(texts: list[str] | None) -> list[tuple[str, str, Any]] | None:
    """Each of ``texts`` parsed by :func:`parse_where`; ``None`` when there are none."""
    return [parse_where(t) for t in texts] if texts else None
