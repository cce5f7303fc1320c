"""Where parallel work runs: this process, a local process pool, or a Ray cluster.

The package owns the executor protocol and how one is chosen; the executors live in
:mod:`curator.executors.local` and :mod:`curator.executors.ray`.

One interface for generation, embedding and oversampling: ``executor.map(fn, items)``
yields ``fn(item)`` for every item, in item order, lazily (results stream back as they are
consumed, so a run can write and resume as it goes). Which executor:

* ``"local"`` (the default): ``workers == 1`` runs in this process; more run in a spawned
  process pool that is kept between calls (start-up costs seconds);
* ``"ray"``: Ray tasks (``pip install 'curator[distributed]'``), on the cluster at
  ``RAY_ADDRESS`` or a local Ray instance; at most ``2 x workers`` tasks are in flight.

``resolve_executor(None)`` picks Ray when ``RAY_ADDRESS`` is set. Results are the same
bytes whichever runs them: every random choice is seeded per item, never per worker.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from curator.executors.base import ExecutorError
from curator.executors.local import (
    ProcessExecutor,
    SerialExecutor,
    kill_pools,
    shutdown_pools,
)
from curator.executors.ray import RayExecutor
from curator.validation import check_scalar

__all__ = [
    "EXECUTORS",
    "Executor",
    "ExecutorError",
    "ProcessExecutor",
    "RayExecutor",
    "SerialExecutor",
    "abandon",
    "executor_name",
    "kill_pools",
    "resolve_executor",
    "shutdown_pools",
]

EXECUTORS = ("local", "ray")


class Executor(Protocol):
    name: str
    workers: int

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        """``fn(item)`` for each item, in order, lazily."""
        ...


def abandon(results: Iterator[Any]) -> None:
    """After a failure or an interrupt mid-``map``: cancel what is queued (Ray's running
    tasks too) and terminate the local workers (:func:`kill_pools`)."""
    close = getattr(results, "close", None)
    if close is not None:
        close()
    kill_pools()


def executor_name(name: str | None = None) -> str:
    """``name`` checked, or the default: ``"ray"`` if ``RAY_ADDRESS`` is set, else local."""
    if name is None:
        name = "ray" if os.environ.get("RAY_ADDRESS") else "local"
    if name not in EXECUTORS:
        raise ExecutorError(f"executor must be one of {', '.join(EXECUTORS)}, got {name!r}")
    return name


def resolve_executor(name: str | None = None, workers: int | None = None, *,
                     initializer: Callable[[], None] | None = None) -> Executor:
    """The executor called ``name`` (``None``: Ray if ``RAY_ADDRESS`` is set, else local)
    with ``workers`` workers (default: every core here; on Ray, the cluster's CPUs)."""
    name = executor_name(name)
    check_scalar(workers, "workers", min_val=1, error=ExecutorError, allow_none=True,
                 message="{name} must be a positive whole number, got {value!r}")
    if name == "ray":
        return RayExecutor(workers, initializer=initializer)
    workers = workers or os.cpu_count() or 1
    return SerialExecutor(initializer) if workers == 1 else ProcessExecutor(workers,
                                                                            initializer)
