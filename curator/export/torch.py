"""A tiny PyTorch ``Dataset`` over an exported manifest (``parquet`` or ``jsonl`` export).

No dependency beyond numpy and Pillow: with torch installed, items are tensors; without,
numpy arrays (the class still works as a plain indexable sequence)::

    from curator.export.torch import ManifestDataset
    ds = ManifestDataset("exports/mix")           # manifest.parquet or manifest.jsonl
    image, target, weight = ds[0]                 # CHW float32 in [0, 1], class index
    loader = torch.utils.data.DataLoader(ds, batch_size=64,
                                         sampler=WeightedRandomSampler(ds.weights, len(ds)))
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

try:  # optional: subclass torch's Dataset when it is there
    from torch.utils.data import Dataset as _Base
except ImportError:  # pragma: no cover - exercised where torch is absent
    _Base = object  # type: ignore[assignment,misc]


class ManifestDataset(_Base):  # type: ignore[misc]
    """Images, class indices and weights of an exported manifest, in manifest order.

    ``classes`` are the sorted labels (``class_to_idx`` maps them); ``transform`` takes the
    ``(H, W, C)`` uint8 array and returns what the item should hold (default: a ``(C, H, W)``
    float32 tensor in [0, 1], or the same as a numpy array without torch).
    """

    def __init__(self, root: str | Path, *, transform: Callable[[np.ndarray], Any] | None = None,
                 mode: str = "RGB") -> None:
        self.root = Path(root)
        parquet, jsonl = self.root / "manifest.parquet", self.root / "manifest.jsonl"
        if parquet.is_file():
            import pyarrow.parquet as pq

            rows = pq.read_table(parquet, columns=["sample_id", "label", "weight",
                                                   "image_path"]).to_pylist()
        elif jsonl.is_file():
            rows = [json.loads(line) for line in jsonl.read_text().splitlines() if line]
        else:
            raise FileNotFoundError(f"{self.root} holds no manifest.parquet or "
                                    "manifest.jsonl (export with --format parquet or jsonl)")
        self.sample_ids = [str(r["sample_id"]) for r in rows]
        self.labels = [str(r["label"]) for r in rows]
        self.paths = [self.root / r["image_path"] for r in rows]
        self.weights = [1.0 if r.get("weight") is None else float(r["weight"]) for r in rows]
        self.classes = sorted(set(self.labels))
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        self.transform = transform
        self.mode = mode

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[Any, int, float]:
        from PIL import Image

        with Image.open(self.paths[i]) as img:
            pixels = np.asarray(img.convert(self.mode))
        if pixels.ndim == 2:
            pixels = pixels[..., None]
        item = self.transform(pixels) if self.transform else _to_tensor(pixels)
        return item, self.class_to_idx[self.labels[i]], self.weights[i]


def _to_tensor(pixels: np.ndarray) -> Any:
    chw = np.ascontiguousarray(pixels.transpose(2, 0, 1), dtype=np.float32) / 255.0
    try:
        import torch
    except ImportError:
        return chw
    return torch.from_numpy(chw)
