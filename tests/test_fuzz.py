"""Seeded fuzzing at the boundaries: random and malformed images, COCO JSON, CSV tables,
recipes and CLI arguments. Every case ends in rows, rejects with reasons, or a
CuratorError with a message: never a traceback, never a partial write. And the safety
rules hold in the source: no pickle of user data, no eval."""

from __future__ import annotations

import copy
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from curator import init_workspace
from curator.errors import CuratorError
from curator.ingest import ingest, read_coco, read_folder, read_table

CASES = 40
REPO = Path(__file__).resolve().parent.parent


def _png(rng, size=8) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (size, size), dtype=np.uint8), "L").save(buf, "PNG")
    return buf.getvalue()


def _mutate_bytes(rng, data: bytes) -> bytes:
    kind = rng.integers(0, 4)
    if kind == 0:  # truncated
        return data[: int(rng.integers(0, max(1, len(data))))]
    if kind == 1:  # random bytes
        return rng.integers(0, 256, int(rng.integers(0, 200)), dtype=np.uint8).tobytes()
    if kind == 2:  # flipped bytes inside
        arr = bytearray(data)
        for _ in range(int(rng.integers(1, 20))):
            arr[int(rng.integers(0, len(arr)))] = int(rng.integers(0, 256))
        return bytes(arr)
    return b""  # empty file


def test_random_and_broken_images_are_rejected_with_reasons(tmp_path):
    rng = np.random.default_rng(0)
    src = tmp_path / "src" / "cat"
    src.mkdir(parents=True)
    good = 0
    for i in range(CASES):
        data = _png(rng)
        if i % 3:
            data = _mutate_bytes(rng, data)
        else:
            good += 1
        (src / f"{i:03d}.png").write_bytes(data)
    # A decompression bomb: a tiny file that claims a huge image.
    Image.new("L", (20_000, 20_000)).save(src / "bomb.png", optimize=True)
    ws = init_workspace(tmp_path / "ws")
    summary = ingest(ws, read_folder(tmp_path / "src", max_pixels=10_000_000))
    assert summary.added >= good and summary.rejected >= 1
    rejects = ws.rejects.to_table().to_pandas().set_index("item")
    assert (rejects["reason"].str.len() > 0).all() and (rejects["message"].str.len() > 0).all()
    assert rejects.loc["cat/bomb.png", "reason"] == "too_large"  # never decoded in full
    assert ws.samples.count() == summary.added  # nothing half-written


def _coco(rng) -> dict:
    return {"images": [{"id": 1, "file_name": "a.png", "width": 8, "height": 8}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1,
                             "bbox": [1.0, 1.0, 3.0, 3.0], "area": 9.0, "iscrowd": 0}],
            "categories": [{"id": 1, "name": "thing"}]}


def _mutate_json(rng, doc):
    doc = copy.deepcopy(doc)
    targets = [doc, doc["images"][0], doc["annotations"][0], doc["categories"][0]]
    target = targets[int(rng.integers(0, len(targets)))]
    key = list(target)[int(rng.integers(0, len(target)))]
    choice = int(rng.integers(0, 5))
    if choice == 0:
        del target[key]
    elif choice == 1:
        target[key] = None
    elif choice == 2:
        target[key] = "x" * int(rng.integers(0, 5))
    elif choice == 3:
        target[key] = -float(rng.integers(1, 100))
    else:
        target[key] = [[]] if isinstance(target[key], list) else {"nested": [1, 2]}
    return doc


def test_malformed_coco_ends_in_rejects_or_a_curator_error(tmp_path):
    rng = np.random.default_rng(1)
    (tmp_path / "a.png").write_bytes(_png(rng))
    outcomes = {"ingested": 0, "refused": 0}
    for i in range(CASES):
        doc = _mutate_json(rng, _coco(rng))
        text = json.dumps(doc) if i % 7 else json.dumps(doc)[: int(rng.integers(1, 60))]
        path = tmp_path / f"ann{i}.json"
        path.write_text(text)
        ws = init_workspace(tmp_path / f"ws{i}")
        try:
            ingest(ws, read_coco(path, tmp_path))
            outcomes["ingested"] += 1
        except CuratorError as exc:
            assert str(exc), "a CuratorError says what went wrong"
            assert ws.samples.count() == 0  # refused before writing anything
            outcomes["refused"] += 1
    assert outcomes["ingested"] and outcomes["refused"]


def test_malformed_csv_tables_end_in_rejects_or_a_curator_error(tmp_path):
    rng = np.random.default_rng(2)
    (tmp_path / "a.png").write_bytes(_png(rng))
    rows = ["path,label,yaw", "a.png,cat,10", "a.png,dog,20"]
    for i in range(CASES):
        lines = list(rows)
        for _ in range(int(rng.integers(1, 4))):
            j = int(rng.integers(0, len(lines)))
            junk = ["", ",,,,", '"unclosed', "../../etc/passwd,x,1", "a.png,cat,not-a-number",
                    "\x00\x01", "a.png"][int(rng.integers(0, 7))]
            lines[j] = junk
        path = tmp_path / f"t{i}.csv"
        path.write_text("\n".join(lines))
        ws = init_workspace(tmp_path / f"ws{i}")
        try:
            summary = ingest(ws, read_table(path, image_column="path"))
            assert ws.samples.count() == summary.added
        except CuratorError as exc:
            assert str(exc) and ws.samples.count() == 0


def test_malformed_recipes_raise_recipe_errors(tmp_path):
    import yaml

    from generators.recipe import load_recipe

    rng = np.random.default_rng(3)
    base = yaml.safe_load((REPO / "generators" / "recipes" / "objects.yaml").read_text())
    for i in range(CASES):
        doc = copy.deepcopy(base)
        node = doc
        for _ in range(int(rng.integers(1, 3))):
            if not isinstance(node, dict) or not node:
                break
            key = list(node)[int(rng.integers(0, len(node)))]
            if isinstance(node[key], dict) and rng.random() < 0.5:
                node = node[key]
                continue
            node[key] = [None, -5, "??", [1, 2, 3], {"x": 1}, 1e12][int(rng.integers(0, 6))]
            break
        path = tmp_path / f"r{i}.yaml"
        path.write_text(yaml.safe_dump(doc) if i % 5 else "::: not yaml [")
        try:
            load_recipe(path)
        except CuratorError as exc:
            assert str(exc)


def test_random_cli_arguments_exit_cleanly(tmp_path):
    from curator.cli import app

    rng = np.random.default_rng(4)
    ws = init_workspace(tmp_path / "ws")
    words = ["--n", "-5", "--seed", "x", "--where", "label ~ 3", "--k", "0", "..", "/etc",
             "--format", "tar", "--out", str(tmp_path / "o"), "nan", "1e309", "--target",
             "-", "digits3d", "pixels", "--by", "label,", "--sections", "nope"]
    commands = [["generate"], ["select", "mix"], ["report", str(ws.root)], ["export"],
                ["oversample"], ["experiment", "ratio"], ["manifest", "diff"], ["embed"],
                ["show"], ["ingest", "folder"], ["doctor", str(ws.root)]]
    runner = CliRunner()
    for _ in range(CASES * 2):
        cmd = commands[int(rng.integers(0, len(commands)))]
        args = [words[int(rng.integers(0, len(words)))]
                for _ in range(int(rng.integers(0, 5)))]
        result = runner.invoke(app, [*cmd, *args, "-w", str(ws.root)])
        assert result.exit_code in (0, 1, 2), (cmd, args, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            cmd, args, repr(result.exception), result.output[-500:])
        assert "Traceback" not in result.output


UNSAFE = [
    (re.compile(r"^\s*import pickle|^\s*from pickle|pickle\.loads?\("), "pickle"),
    (re.compile(r"joblib\.load\(|dill\.load|cloudpickle\.load"), "pickle-based loader"),
    (re.compile(r"np\.load\((?![^)]*allow_pickle=False)"), "np.load without allow_pickle=False"),
    (re.compile(r"torch\.load\((?![^)]*weights_only=True)"), "torch.load without weights_only"),
    (re.compile(r"(?<![\w.])eval\(|(?<![\w.])exec\("), "eval/exec"),
    (re.compile(r"yaml\.load\((?![^)]*SafeLoader)"), "yaml.load without SafeLoader"),
]


@pytest.mark.parametrize("package", ["curator", "generators", "app", "reports"])
def test_no_pickle_eval_or_unsafe_loaders_in_the_source(package):
    found = []
    for path in sorted((REPO / package).rglob("*.py")):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            for pattern, what in UNSAFE:
                if pattern.search(code):
                    found.append(f"{path.relative_to(REPO)}:{n}: {what}")
    assert not found, "\n".join(found)
