"""Parameter checks at the boundary, in the spirit of scikit-learn's ``check_scalar``.

One helper validates a number's type and range and raises the caller's error class with a
message that names the parameter, the allowed range and the value it got.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

from curator.errors import CuratorError


def _describe(target: type, min_val: Any, max_val: Any, closed: str) -> str:
    whole = target is Integral
    noun = "integer" if whole else "number"
    if max_val is None and min_val is not None and closed in ("both", "left"):
        if min_val == 1 and whole:
            return "a positive integer"
        if min_val == 0:
            return f"a non-negative {noun}"
        return f"an {noun} >= {min_val}" if whole else f"a {noun} >= {min_val}"
    if max_val is None and min_val is not None:
        return f"a {noun} > {min_val}" if not whole else f"an {noun} > {min_val}"
    if min_val is None and max_val is not None:
        op = "<=" if closed in ("both", "right") else "<"
        return f"{'an' if whole else 'a'} {noun} {op} {max_val}"
    if min_val is None:
        return f"{'an' if whole else 'a'} {noun}"
    left = "[" if closed in ("both", "left") else "("
    right = "]" if closed in ("both", "right") else ")"
    return f"{'an' if whole else 'a'} {noun} in {left}{min_val}, {max_val}{right}"


def check_scalar(value: Any, name: str, target_type: type = Integral, *,
                 min_val: Any = None, max_val: Any = None, closed: str = "both",
                 error: type[Exception] = CuratorError, allow_none: bool = False,
                 message: str | None = None) -> Any:
    """Return ``value`` (an ``int`` or ``float``) if it is a ``target_type`` in range, else raise.

    ``target_type`` is :class:`numbers.Integral` (booleans refused) or
    :class:`numbers.Real`; ``closed`` says which bounds are allowed: ``"both"``,
    ``"left"``, ``"right"`` or ``"neither"``. ``error`` is the exception class raised,
    ``message`` overrides the default text (it is formatted with ``name``, ``value`` and
    ``expected``). ``None`` passes through when ``allow_none``.
    """
    if value is None and allow_none:
        return None
    expected = _describe(target_type, min_val, max_val, closed)
    ok = isinstance(value, target_type) and not isinstance(value, bool)
    if ok and target_type is Real:
        ok = value == value  # NaN is never in range
    if ok and min_val is not None:
        ok = value >= min_val if closed in ("both", "left") else value > min_val
    if ok and max_val is not None:
        ok = value <= max_val if closed in ("both", "right") else value < max_val
    if not ok:
        text = (message or "{name} must be {expected}, got {value!r}").format(
            name=name, value=value, expected=expected)
        raise error(text)
    return int(value) if target_type is Integral else float(value)
