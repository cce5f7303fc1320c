"""Where parallel work runs: this process, a local process pool, or a Ray cluster.

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

import atexit
import multiprocessing as mp
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Protocol

from curator.errors import CuratorError

EXECUTORS = ("local", "ray")


class ExecutorError(CuratorError):
    """An executor cannot be used (unknown name, Ray missing or unreachable)."""


class Executor(Protocol):
    name: str
    workers: int

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        """``fn(item)`` for each item, in order, lazily."""
        ...


class SerialExecutor:
    """Runs in this process (``workers == 1``)."""

    name = "local"
    workers = 1

    def __init__(self, initializer: Callable[[], None] | None = None) -> None:
        self.initializer = initializer  # for worker processes: not run in this one

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        return map(fn, items)


_POOLS: dict[tuple[int, Any], ProcessPoolExecutor] = {}


class ProcessExecutor:
    """A spawned process pool, kept between calls per (workers, initializer)."""

    name = "local"

    def __init__(self, workers: int, initializer: Callable[[], None] | None = None) -> None:
        self.workers = workers
        self.initializer = initializer

    def pool(self) -> ProcessPoolExecutor:
        key = (self.workers, self.initializer)
        for other in [k for k in _POOLS if k[1] == self.initializer and k != key]:
            _POOLS.pop(other).shutdown(wait=True, cancel_futures=True)  # one size at a time
        if key not in _POOLS:
            # Spawned, not forked: each worker builds its own state (e.g. an EGL context).
            _POOLS[key] = ProcessPoolExecutor(self.workers, mp_context=mp.get_context("spawn"),
                                              initializer=self.initializer)
        return _POOLS[key]

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        return self.pool().map(fn, items)

    def shutdown(self) -> None:
        pool = _POOLS.pop((self.workers, self.initializer), None)
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def shutdown_pools() -> None:
    """Stop every kept process pool (they restart on the next call)."""
    while _POOLS:
        _, pool = _POOLS.popitem()
        pool.shutdown(wait=True, cancel_futures=True)


atexit.register(shutdown_pools)


def _call_initialized(fn: Callable[[Any], Any], initializer: Callable[[], None] | None,
                      item: Any) -> Any:
    """In a Ray worker: run ``initializer`` once per process, then ``fn(item)``."""
    global _INITIALIZED
    if initializer is not None and initializer not in _INITIALIZED:
        initializer()
        _INITIALIZED.add(initializer)
    return fn(item)


_INITIALIZED: set[Any] = set()


class RayExecutor:
    """Ray tasks, results yielded in order with a bounded number in flight."""

    name = "ray"

    def __init__(self, workers: int | None = None, *, address: str | None = None,
                 initializer: Callable[[], None] | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise ExecutorError("the ray executor needs Ray: pip install "
                                "'curator[distributed]'") from None
        self.ray = ray
        address = address or os.environ.get("RAY_ADDRESS")
        if not ray.is_initialized():
            try:
                ray.init(address=address, num_cpus=None if address else (workers or None),
                         include_dashboard=False, log_to_driver=False,
                         ignore_reinit_error=True)
            except Exception as exc:  # noqa: BLE001 - Ray raises many kinds here
                where = address or "a local instance"
                raise ExecutorError(f"cannot start or reach Ray at {where}: {exc}") from None
        self.workers = workers or int(ray.cluster_resources().get("CPU", 1))
        self.initializer = initializer
        self._task = ray.remote(_call_initialized)

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        window: deque[Any] = deque()
        limit = max(1, 2 * self.workers)
        for item in items:
            window.append(self._task.remote(fn, self.initializer, item))
            if len(window) >= limit:
                yield self.ray.get(window.popleft())
        while window:
            yield self.ray.get(window.popleft())


def resolve_executor(name: str | None = None, workers: int | None = None, *,
                     initializer: Callable[[], None] | None = None) -> Executor:
    """The executor called ``name`` (``None``: Ray if ``RAY_ADDRESS`` is set, else local)
    with ``workers`` workers (default: every core here; on Ray, the cluster's CPUs)."""
    if name is None:
        name = "ray" if os.environ.get("RAY_ADDRESS") else "local"
    if name not in EXECUTORS:
        raise ExecutorError(f"executor must be one of {', '.join(EXECUTORS)}, got {name!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):
        raise ExecutorError(f"workers must be a positive whole number, got {workers!r}")
    if name == "ray":
        return RayExecutor(workers, initializer=initializer)
    workers = workers or os.cpu_count() or 1
    return SerialExecutor(initializer) if workers == 1 else ProcessExecutor(workers,
                                                                            initializer)
