"""Local executors: this process, or a spawned process pool kept between calls.

Owns the kept pools and how they stop (:func:`shutdown_pools` at exit, :func:`kill_pools`
after a failure or an interrupt).
"""

from __future__ import annotations

import atexit
import functools
import multiprocessing as mp
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from curator.executors.base import windowed


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
        return windowed(lambda item: pool.submit(fn, item), lambda f: f.result(),
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


atexit.register(shutdown_pools)
