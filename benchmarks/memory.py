"""Shared by the benchmark scripts: memory figures from ``/proc/self/status``, measuring in a
fresh process, and the machine line a table starts with."""

from __future__ import annotations

import multiprocessing as mp
import os
import platform
from concurrent.futures import ProcessPoolExecutor


def status_kb(key: str) -> float:
    """A ``/proc/self/status`` figure in KiB, e.g. ``status_kb("VmHWM")`` (peak RSS)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return float(line.split()[1])
    raise RuntimeError(f"{key} not in /proc/self/status")


def reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0), so data generation is not the peak."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def in_fresh_process(fn, *args) -> dict:
    """``fn(*args)`` in a new interpreter: its peak RSS is this measurement's alone."""
    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def machine_line() -> str:
    """``"2 cores (AMD EPYC ...), 24 GiB RAM; python 3.11.7"``."""
    with open("/proc/meminfo") as fh:
        mem_gib = float(fh.readline().split()[1]) / 2**20
    with open("/proc/cpuinfo") as fh:
        model = next((ln.split(":", 1)[1].strip() for ln in fh
                      if ln.startswith("model name")), platform.machine())
    return (f"{os.cpu_count()} cores ({model}), {mem_gib:.0f} GiB RAM; python "
            f"{platform.python_version()}")
