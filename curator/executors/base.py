"""What every executor shares: the error it raises and the ordered, bounded submit loop.

Kept apart from the package ``__init__`` so :mod:`curator.executors.local` and
:mod:`curator.executors.ray` import it without a cycle.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from curator.errors import CuratorError


class ExecutorError(CuratorError):
    """An executor cannot be used (unknown name, Ray missing or unreachable)."""


def windowed(submit: Callable[[Any], Any], result: Callable[[Any], Any],
              cancel: Callable[[Any], Any], items: Iterable[Any], limit: int
              ) -> Iterator[Any]:
    """Results of ``submit(item)`` in item order, at most ``limit`` submitted ahead; what is
    still in flight is cancelled when the consumer stops early or fails."""
    window: deque[Any] = deque()
    try:
        for item in items:
            window.append(submit(item))
            if len(window) >= max(1, limit):
                yield result(window.popleft())
        while window:
            yield result(window.popleft())
    finally:
        for pending in window:
            cancel(pending)
