"""Headless OpenGL set-up: pyrender on EGL (Mesa's software driver when there is no GPU).

Import pyrender only through :func:`load_pyrender`, in the process that renders: an EGL
context cannot be shared across threads, so rendering happens in worker processes.
"""

from __future__ import annotations

import os
from types import ModuleType

import numpy as np


def load_pyrender(threads: int | None = None) -> ModuleType:
    """Return the pyrender module, set up for offscreen EGL rendering.

    ``threads`` sets Mesa llvmpipe's rasteriser threads (``LP_NUM_THREADS``); 0 rasterises
    in the calling thread, fastest with one worker process per core (measured ~7% faster
    than 1). Must run before the first context is made.
    """
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
    if threads is not None:
        os.environ["LP_NUM_THREADS"] = str(int(threads))
    if not hasattr(np, "infty"):  # pyrender 0.1.45 still uses the alias numpy 2 removed
        np.infty = np.inf  # type: ignore[attr-defined]
    import pyrender

    return pyrender
