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
import functools
import multiprocessing as mp
import os
import threading
import time
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


def _windowed(submit: Callable[[Any], Any], result: Callable[[Any], Any],
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


class SerialExecutor:
    """Runs in this process (``workers == 1``)."""

    name = "local"
    workers = 1

    def __init__(self, initializer: Callable[[], None] | None = None) -> None:
        self.initializer = initializer  # for worker processes: not run in this one

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        return map(fn, items)


_POOLS: dict[tuple[int, Any], ProcessPoolExecutor] = {}


def _start_worker(parent: int, initializer: Callable[[], None] | None) -> None:
    """In a pool worker: leave when the parent is gone, then run ``initializer``.

    A parent killed with SIGKILL cannot stop its pool, and an idle worker waiting on the
    task queue never notices: without this it lingers as an orphan holding its memory
    (and, for rendering, a GL context)."""

    def exit_with_parent() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=exit_with_parent, name="exit-with-parent", daemon=True).start()
    if initializer is not None:
        initializer()


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
            _POOLS[key] = ProcessPoolExecutor(
                self.workers, mp_context=mp.get_context("spawn"),
                initializer=functools.partial(_start_worker, os.getpid(), self.initializer))
        return _POOLS[key]

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        """In order, with at most ``2 x workers`` items submitted ahead of the consumer:
        items are pulled lazily (``ProcessPoolExecutor.map`` would submit them all first,
        reading a whole workspace of images before the first result)."""
        pool = self.pool()
        return _windowed(lambda item: pool.submit(fn, item), lambda f: f.result(),
                         lambda f: f.cancel(), items, 2 * self.workers)

    def shutdown(self) -> None:
        pool = _POOLS.pop((self.workers, self.initializer), None)
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def shutdown_pools() -> None:
    """Stop every kept process pool (they restart on the next call)."""
    while _POOLS:
        _, pool = _POOLS.popitem()
        pool.shutdown(wait=True, cancel_futures=True)


def kill_pools() -> None:
    """Stop every kept process pool now: queued tasks are cancelled and busy workers
    terminated rather than waited for (after a failure or an interrupt)."""
    while _POOLS:
        _, pool = _POOLS.popitem()
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(5)


def abandon(results: Iterator[Any]) -> None:
    """After a failure or an interrupt mid-``map``: cancel what is queued (Ray's running
    tasks too) and terminate the local workers (:func:`kill_pools`)."""
    close = getattr(results, "close", None)
    if close is not None:
        close()
    kill_pools()


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
        def cancel(ref: Any) -> None:
            try:
                self.ray.cancel(ref)
            except Exception:  # noqa: BLE001 - a finished or lost task: nothing to stop
                pass

        return _windowed(lambda item: self._task.remote(fn, self.initializer, item),
                         self.ray.get, cancel, items, 2 * self.workers)


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
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):
        raise ExecutorError(f"workers must be a positive whole number, got {workers!r}")
    if name == "ray":
        return RayExecutor(workers, initializer=initializer)
    workers = workers or os.cpu_count() or 1
    return SerialExecutor(initializer) if workers == 1 else ProcessExecutor(workers,
                                                                            initializer)
