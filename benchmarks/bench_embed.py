"""Benchmark: ``cnn`` embedding throughput, onnxruntime (ours) vs torch eager, same model.

On N images (default 256, 224 x 224 RGB crops of sklearn's sample photos) in batches of 32,
in the same run and with all cores:

* end to end: ``CnnEmbedder.transform`` (preprocessing + onnxruntime on the cached ONNX
  export) vs the same preprocessing + the package's torch model, eager, under
  ``torch.inference_mode``;
* model only: the same preprocessed batches through onnxruntime vs torch (NCHW, and
  channels-last, torch's faster CPU layout for this network);
* the one-time export (torch -> ONNX) into a fresh cache folder.

Each side runs one warm-up batch first (session creation, allocator warm-up not counted).
Prints images/s and the ratio ours/torch. Target: >= 3x torch eager end to end.

Usage: ``python benchmarks/bench_embed.py [--n N] [--batch-size B]``
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np
import pandas as pd
from sklearn.datasets import load_sample_images

from curator.embed.cnn import (
    INPUT_NAME,
    OUTPUT_NAME,
    CnnEmbedder,
    ensure_onnx_model,
    features_module,
    load_torch_model,
    preprocess_batch,
)

SIZE = 224


def sample_images(n: int, seed: int = 0) -> list[np.ndarray]:
    """Random 224-px crops (some mirrored) of the two sample photos."""
    rng = np.random.default_rng(seed)
    photos = load_sample_images().images
    out = []
    for _ in range(n):
        photo = photos[rng.integers(len(photos))]
        y = rng.integers(photo.shape[0] - SIZE + 1)
        x = rng.integers(photo.shape[1] - SIZE + 1)
        crop = photo[y:y + SIZE, x:x + SIZE]
        out.append(np.ascontiguousarray(crop[:, ::-1] if rng.random() < 0.5 else crop))
    return out


def images_per_s(fn, batches: list, n: int) -> float:
    fn(batches[0])  # warm-up
    start = time.perf_counter()
    for batch in batches:
        fn(batch)
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=256, help="images")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    import torch

    cores = os.cpu_count() or 1
    torch.set_num_threads(cores)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        ensure_onnx_model(root=tmp)  # includes importing torch's exporter
        export_s = time.perf_counter() - start
    ensure_onnx_model()  # the real cache, so the embedder does not export while timed

    images = sample_images(args.n)
    b = args.batch_size
    frame = pd.DataFrame({"sample_id": [f"s{i}" for i in range(len(images))],
                          "image": images, "mode": ["RGB"] * len(images)})
    frames = [frame.iloc[s:s + b] for s in range(0, len(frame), b)]
    embedder = CnnEmbedder(batch_size=b, l2_normalize=False)
    net = features_module(load_torch_model())

    def torch_forward(batch: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return net(torch.from_numpy(batch)).numpy()

    def torch_end_to_end(frame: pd.DataFrame) -> np.ndarray:
        return torch_forward(preprocess_batch(frame["image"], frame["mode"], SIZE))

    session = embedder._onnx_session()

    def ort_forward(batch: np.ndarray) -> np.ndarray:
        return session.run([OUTPUT_NAME], {INPUT_NAME: batch})[0]

    tensors = [preprocess_batch(f["image"], f["mode"], SIZE) for f in frames]
    max_diff = float(np.abs(embedder.transform(frames[0]) - torch_end_to_end(frames[0])).max())
    net_cl = features_module(load_torch_model()).to(memory_format=torch.channels_last)

    def torch_channels_last(batch: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            x = torch.from_numpy(batch).contiguous(memory_format=torch.channels_last)
            return net_cl(x).numpy()

    rows = [("end to end (preprocess + model)",
             images_per_s(torch_end_to_end, frames, args.n),
             images_per_s(embedder.transform, frames, args.n)),
            ("model only (preprocessed batches)",
             images_per_s(torch_forward, tensors, args.n),
             images_per_s(ort_forward, tensors, args.n)),
            ("model only, torch channels_last",
             images_per_s(torch_channels_last, tensors, args.n),
             images_per_s(ort_forward, tensors, args.n))]

    print(f"cnn embedding: efficientnet_lite0, {args.n} images {SIZE}px, batch {b}, "
          f"{cores} cores, torch {torch.__version__}")
    header = f"{'images/s':<36}{'torch eager':>12}{'onnxruntime':>13}{'ratio':>8}"
    print(header)
    print("-" * len(header))
    for name, base, ours in rows:
        print(f"{name:<36}{base:>12.1f}{ours:>13.1f}{ours / base:>7.2f}x")
    print(f"\none-time ONNX export (fresh cache): {export_s:.1f}s; max |onnx - torch| on one "
          f"batch: {max_diff:.2e}")
    print("ratio = onnxruntime / torch eager. target: >= 3x end to end")


if __name__ == "__main__":
    main()
