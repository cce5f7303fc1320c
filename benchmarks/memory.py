"""Shared by the benchmark scripts: process memory figures from ``/proc/self/status``."""

from __future__ import annotations


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
