"""Content ids and config hashes.

Sample ids hash decoded pixels (not file bytes), so the same picture gets the same id on every
machine whatever its file format; config hashes fingerprint the settings that made a row.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np

ID_HEX_CHARS = 32  # 128 bits: collisions are negligible at billions of samples


def pixel_id(pixels: np.ndarray, mode: str) -> str:
    """Return the content id of an image: a hash of its mode, shape and pixel bytes."""
    arr = np.ascontiguousarray(pixels)
    h = hashlib.sha256()
    h.update(f"curator-pixels-v1|{mode}|{arr.dtype.str}|{arr.shape}|".encode())
    h.update(arr.tobytes())
    return h.hexdigest()[:ID_HEX_CHARS]


def text_id(*parts: str) -> str:
    """Return a stable id for a tuple of strings (used for rows without pixels)."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode())
        h.update(b"\x1f")
    return h.hexdigest()[:ID_HEX_CHARS]


def config_hash(config: Any) -> str:
    """Hash a JSON-serialisable config canonically (sorted keys, no whitespace)."""
    payload = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]
