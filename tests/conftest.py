"""Shared fixtures: a fresh workspace, small real input files, and one ready case per format.

Every image written here has its own random pixels, so every file has its own content id;
a case records the pixels each good item decodes to and the reason each bad item is refused.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import re
import signal
import struct
import subprocess
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from PIL import Image

from curator import Workspace, init_workspace
from curator.hashing import pixel_id
from curator.ingest import Source, read_coco, read_folder, read_masks, read_table

_MODE_BY_CHANNELS = {2: "LA", 3: "RGB", 4: "RGBA"}
_CHANNELS = {"L": 0, "LA": 2, "RGB": 3, "RGBA": 4}


def committed_shards(ws_root: Path) -> int:
    """Sample shards that have landed (temp files do not count)."""
    return sum(1 for e in os.scandir(ws_root / "samples")
               if re.fullmatch(r"part-.*\.parquet", e.name))


def kill_after_shards(proc: subprocess.Popen, ws_root: Path, shards: int,
                      timeout_s: float = 120.0) -> None:
    """SIGKILL ``proc`` once ``shards`` shards of ``ws_root`` are committed."""
    deadline = time.monotonic() + timeout_s
    try:
        while committed_shards(ws_root) < shards and proc.poll() is None:
            assert time.monotonic() < deadline, "the run made no progress"
            time.sleep(0.001)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, (
        f"the run ended by itself (rc {proc.returncode}) before it could be killed")


def mode_of(pixels: np.ndarray) -> str:
    """The curator image mode of a uint8 pixel array, from its shape."""
    return "L" if pixels.ndim == 2 else _MODE_BY_CHANNELS[pixels.shape[-1]]


def decode(data: bytes) -> np.ndarray:
    """Pixels of encoded image bytes, decoded by Pillow directly."""
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img)


class Inputs:
    """Writes small real input files under ``root``; each new image gets unseen pixels."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._seeds = itertools.count()

    def path(self, rel: str) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def image(self, rel: str, *, mode: str = "RGB", size: tuple[int, int] = (5, 6)
              ) -> np.ndarray:
        """Write an image of fresh random pixels (``size`` is height, width; the format
        follows the suffix); return the pixels the file decodes to (JPEG is lossy)."""
        height, width = size
        channels = _CHANNELS[mode]
        shape = (height, width, channels) if channels else (height, width)
        pixels = np.random.default_rng(next(self._seeds)).integers(0, 256, shape, np.uint8)
        path = self.path(rel)
        Image.fromarray(pixels).save(path)
        with Image.open(path) as img:
            return np.asarray(img)

    def tree(self, under: str, counts: dict[str | None, int]) -> dict[str, np.ndarray]:
        """Write ``counts[label]`` PNGs in ``under/label/`` (label ``None``: in ``under``);
        return their pixels keyed by path relative to ``under``."""
        written = {}
        for label, n in counts.items():
            for _ in range(n):
                rel = f"{label + '/' if label else ''}img{len(written):05d}.png"
                written[rel] = self.image(f"{under}/{rel}")
        return written

    def write(self, rel: str, data: bytes | str) -> Path:
        path = self.path(rel)
        if isinstance(data, str):
            path.write_text(data)
        else:
            path.write_bytes(data)
        return path

    def truncated_png(self, rel: str) -> Path:
        """A PNG cut off in the middle of its pixel data."""
        buf = io.BytesIO()
        noise = np.random.default_rng(next(self._seeds)).integers(0, 256, (64, 64, 3), np.uint8)
        Image.fromarray(noise).save(buf, format="PNG")
        return self.write(rel, buf.getvalue()[:300])

    def bomb_png(self, rel: str, width: int, height: int, *, mode: str = "L") -> Path:
        """A tiny PNG whose header claims ``width`` x ``height`` pixels (a decompression
        bomb as far as any decoder that trusts the header is concerned)."""
        buf = io.BytesIO()
        img = Image.new(mode, (4, 4))
        if mode == "P":
            img.putpalette([0, 0, 0] * 256)
        img.save(buf, format="PNG")
        data = bytearray(buf.getvalue())
        data[16:24] = struct.pack(">II", width, height)  # IHDR width, height
        data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))  # IHDR CRC
        return self.write(rel, bytes(data))

    def mask(self, rel: str, values: np.ndarray, *, palette: bool = False) -> Path:
        """A single-channel mask; with ``palette`` a P-mode PNG whose colours are not greys,
        so a reader that converts palette to colour cannot return the indices by accident."""
        values = np.ascontiguousarray(values, dtype=np.uint8)
        if palette:
            img = Image.frombytes("P", (values.shape[1], values.shape[0]), values.tobytes())
            img.putpalette([c for i in range(256) for c in (255 - i, (7 * i) % 256, 40)])
        else:
            img = Image.fromarray(values)
        path = self.path(rel)
        img.save(path, format="PNG")
        return path

    def table(self, rel: str, columns: dict[str, list[Any]]) -> Path:
        """A CSV or Parquet table (by suffix) with these columns."""
        table = pa.table(columns)
        path = self.path(rel)
        if path.suffix == ".parquet":
            pq.write_table(table, path)
        else:
            pacsv.write_csv(table, path)
        return path

    def coco(self, rel: str, images: list[dict[str, Any]], annotations: list[dict[str, Any]],
             categories: list[dict[str, Any]]) -> Path:
        doc = {"images": images, "annotations": annotations, "categories": categories}
        return self.write(rel, json.dumps(doc))


@dataclass
class Case:
    """A format's source with what should land (origin -> pixels) and what should not
    (item -> reject reason)."""

    source: Source
    expected: dict[str, np.ndarray]
    rejected: dict[str, str]
    extra: dict[str, Any] = field(default_factory=dict)

    def expected_ids(self) -> dict[str, str]:
        return {origin: pixel_id(p, mode_of(p)) for origin, p in self.expected.items()}


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return init_workspace(tmp_path / "ws")


@pytest.fixture
def src(tmp_path: Path) -> Inputs:
    return Inputs(tmp_path / "src")


@pytest.fixture(scope="session")
def many_images(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[str]]:
    """1,500 tiny distinct PNGs in three class folders, and their content ids."""
    inputs = Inputs(tmp_path_factory.mktemp("many"))
    written = inputs.tree("src", {"a": 500, "b": 500, "c": 500})
    return inputs.root / "src", {pixel_id(p, "RGB") for p in written.values()}


@pytest.fixture
def folder_case(src: Inputs) -> Case:
    """A class tree with nested, top-level, JPEG, hidden, non-image, truncated and
    escaping-symlink entries."""
    expected = src.tree("folder", {"cat": 2, "dog": 1, None: 1})
    expected["cat/deep/er.png"] = src.image("folder/cat/deep/er.png")
    expected["dog/photo.jpg"] = src.image("folder/dog/photo.jpg", size=(16, 16))
    src.image("folder/.hidden.png")
    src.image("folder/.cache/x.png")
    src.write("folder/notes.txt", "not an image\n")
    src.truncated_png("folder/dog/broken.png")
    src.write("folder/empty.png", b"")
    src.image("outside/secret.png")
    src.path("folder/link_out.png").symlink_to(src.root / "outside" / "secret.png")
    src.path("folder/linked_dir").symlink_to(src.root / "outside", target_is_directory=True)
    rejected = {"notes.txt": "not_an_image", "dog/broken.png": "corrupt_image",
                "empty.png": "corrupt_image", "link_out.png": "path_escape",
                "linked_dir": "path_escape"}
    return Case(read_folder(src.root / "folder"), expected, rejected)


@pytest.fixture
def coco_case(src: Inputs) -> Case:
    """Three images with boxes, a polygon, an RLE and no objects, plus bad entries."""
    expected = {"a.png": src.image("coco/a.png", size=(6, 8)),
                "sub/b.png": src.image("coco/sub/b.png", size=(6, 8)),
                "c.png": src.image("coco/c.png", size=(4, 4))}
    src.image("outside.png")
    rle = {"counts": "0k1c00", "size": [6, 8]}
    images = [
        {"id": 1, "file_name": "a.png", "width": 8, "height": 6},
        {"id": 2, "file_name": "sub/b.png", "width": 8, "height": 6},
        {"id": 3, "file_name": "c.png"},
        {"id": 4, "file_name": "missing.png", "width": 8, "height": 6},
        {"id": 5, "file_name": "../outside.png"},
    ]
    annotations = [
        {"id": 10, "image_id": 1, "category_id": 1, "bbox": [0, 0, 2, 2]},
        {"id": 11, "image_id": 1, "category_id": 2, "bbox": [1, 1, 6, 4], "area": 20.5,
         "segmentation": [[1, 1, 7, 1, 7, 5, 1, 5]]},
        {"id": 12, "image_id": 2, "category_id": 3, "bbox": [0.5, 0, 3, 3], "iscrowd": 1,
         "segmentation": rle},
        {"id": 13, "image_id": 99, "category_id": 1, "bbox": [0, 0, 1, 1]},
        {"id": 14, "image_id": 1, "category_id": 42, "bbox": [0, 0, 1, 1]},
        {"id": 15, "image_id": 2, "category_id": 1, "bbox": [1, 1, 0, 3]},
        {"id": 16, "image_id": 2, "category_id": 1, "bbox": [5, 3, 4, 4]},
    ]
    categories = [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"},
                  {"id": 3, "name": "person"}]
    path = src.coco("coco/instances.json", images, annotations, categories)
    rejected = {"annotation id=13": "dangling_image_id",
                "annotation id=14": "dangling_category_id",
                "annotation id=15": "zero_area_box", "annotation id=16": "box_outside_image",
                "missing.png": "missing_file", "../outside.png": "path_escape"}
    return Case(read_coco(path), expected, rejected, extra={"rle": rle})


@pytest.fixture
def table_suffix() -> str:
    """The table file type of ``table_case``; parametrize it to run over both."""
    return "csv"


@pytest.fixture
def table_case(src: Inputs, table_suffix: str) -> Case:
    """A table in its own folder: typed attributes, label and split columns, relative
    paths, and rows that point at a missing file or out of the folder."""
    a = src.image("meta/imgs/a.png")
    b = src.image("meta/imgs/deeper/b.jpg", size=(8, 8))
    src.image("meta/imgs/absolute.png")
    src.image("outside.png")
    columns = {
        "image_path": ["imgs/a.png", "imgs/deeper/b.jpg", "imgs/nope.png", "../outside.png",
                       str(src.root / "meta/imgs/absolute.png")],
        "label": [3, 7, 1, 1, 1],
        "split": ["train", "test", "train", "train", "train"],
        "score": [0.5, 1.25, 2.0, 3.0, 4.0],
        "count": [1, 2, 3, 4, 5],
        "camera": ["left", "right", "left", "left", "left"],
    }
    path = src.table(f"meta/table.{table_suffix}", columns)
    expected = {"row 1: imgs/a.png": a, "row 2: imgs/deeper/b.jpg": b}
    rejected = {"row 3: imgs/nope.png": "missing_file", "row 4: ../outside.png": "path_escape",
                f"row 5: {columns['image_path'][4]}": "path_escape"}
    return Case(read_table(path), expected, rejected)


@pytest.fixture
def masks_case(src: Inputs) -> Case:
    """Images paired with masks by relative name (any extension), palette and grey masks,
    and images whose mask is missing or the wrong size."""
    class_ids = np.arange(30, dtype=np.uint8).reshape(5, 6) % 4
    grey = np.arange(64, dtype=np.uint8).reshape(8, 8) * 3
    expected = {"cat/a.png": src.image("images/cat/a.png"),
                "b.jpg": src.image("images/b.jpg", size=(8, 8))}
    src.mask("masks/cat/a.png", class_ids, palette=True)
    src.mask("masks/b.png", grey)
    src.image("images/wrong.png")
    src.mask("masks/wrong.png", np.zeros((4, 4), np.uint8))
    src.image("images/lonely.png")
    rejected = {"wrong.png": "mask_mismatch", "lonely.png": "missing_mask"}
    source = read_masks(src.root / "images", src.root / "masks", mask_kind="instance")
    return Case(source, expected, rejected, extra={"masks": {"cat/a.png": class_ids,
                                                             "b.jpg": grey}})


@pytest.fixture
def alpha_case(src: Inputs) -> Case:
    """RGBA and LA frames whose alpha is a matte, and an RGB frame that has none."""
    rgba = src.image("frames/person/f1.png", mode="RGBA")
    la = src.image("frames/f2.png", mode="LA")
    src.image("frames/f3.png", mode="RGB")
    expected = {"person/f1.png": rgba[..., :3], "f2.png": la[..., 0]}
    return Case(read_masks(src.root / "frames", alpha_matte=True), expected,
                {"f3.png": "no_alpha"}, extra={"alpha": {"person/f1.png": rgba[..., 3],
                                                        "f2.png": la[..., 1]}})


def _keyed(rows: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    by_key = {r[key]: r for r in rows}
    assert len(by_key) == len(rows), f"two rows share one {key}"
    return by_key


def rows_by_origin(ws: Workspace, columns: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Sample rows keyed by origin (every column unless ``columns``)."""
    cols = None if columns is None else ["origin", *columns]
    return _keyed(ws.to_table(cols).to_pylist(), "origin")


def rejects_by_item(ws: Workspace) -> dict[str, dict[str, Any]]:
    """Rows of the workspace rejects table keyed by item."""
    return _keyed(ws.rejects.to_table().to_pylist(), "item")


class _Look:
    rows = staticmethod(rows_by_origin)
    rejects = staticmethod(rejects_by_item)
    decode = staticmethod(decode)
    mode_of = staticmethod(mode_of)


@pytest.fixture
def look() -> _Look:
    """Reading helpers for tests: ``look.rows(ws)``, ``look.rejects(ws)``, ``look.decode``,
    ``look.mode_of``."""
    return _Look()


@pytest.fixture(scope="session")
def report_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """A small real + synthetic workspace for the report: 300 real digits, 300 rendered
    3D digits, a 60-sample lighting ablation, 12 object scenes, and a pixels embedding."""
    from curator.embed import PixelEmbedder, embed_workspace
    from curator.ingest import ingest, read_digits
    from generators.recipe import load_recipe
    from generators.run import generate

    ws = init_workspace(tmp_path_factory.mktemp("report") / "ws")
    ingest(ws, read_digits(300))
    digits = load_recipe("digits3d")
    generate(ws, digits, 300, seed=0, workers=1)
    generate(ws, digits.ablate("lighting"), 60, seed=0, workers=1)
    generate(ws, load_recipe("objects", {"size": 32}), 12, seed=0, workers=1)
    embed_workspace(ws, PixelEmbedder(size=8, n_components=16), name="pixels")
    return ws


@pytest.fixture(autouse=True)
def _keep_main_module():
    """Streamlit's AppTest swaps ``sys.modules["__main__"]`` for the page it ran and leaves
    it there; process pools started later (spawn) would re-run that page in every worker.
    Put the real one back after each test."""
    import sys

    main = sys.modules.get("__main__")
    yield
    if main is not None:
        sys.modules["__main__"] = main
