"""The Ray executor: Ray tasks on the cluster at ``RAY_ADDRESS`` or a local Ray instance.

Results come back in item order with at most ``2 x workers`` tasks in flight; Ray itself
is imported only when a :class:`RayExecutor` is made (``pip install 'curator[distributed]'``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from curator.executors.base import ExecutorError, windowed


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

        return windowed(lambda item: self._task.remote(fn, self.initializer, item),
                         self.ray.get, cancel, items, 2 * self.workers)
