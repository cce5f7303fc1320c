"""Manifests and exports: every format read back by its real client (pycocotools, datasets,
the PyTorch dataset, the file system), atomic and refusing to overwrite, never writing
outside the chosen folder; identical curations hash alike and `diff` names a change."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pyarrow as pa
import pytest

from curator import open_workspace
from curator.export import ExportError, export_manifest, read_export, safe_name
from curator.images import decode_bytes
from curator.manifest import diff_manifests, read_manifest, write_manifest


@pytest.fixture(scope="module")
def export_ws(report_ws, tmp_path_factory):
    root = tmp_path_factory.mktemp("export") / "ws"
    shutil.copytree(report_ws.root, root)
    ws = open_workspace(root)
    # A real sample whose label would escape a folder-per-class export if used as a path.
    donor = ws.to_pandas(["sample_id", "image_bytes"], [("source", "==", "real")]).iloc[0]
    ws.append_samples(pa.table({
        "sample_id": ["e0000000000000000000000000000e01"], "source": ["real"],
        "label": ["../../evil"], "split": ["train"], "image_bytes": [donor.image_bytes],
        "width": pa.array([8], pa.int32()), "height": pa.array([8], pa.int32()),
        "mode": ["L"], "generator": ["test"], "generator_version": ["1"],
        "config_hash": ["0" * 16]}))
    return ws


@pytest.fixture(scope="module")
def mixed(export_ws):
    f = export_ws.to_pandas(["sample_id", "source", "gen_recipe"])
    ids = (f[f.gen_recipe == "objects"].sample_id.tolist()
           + f[f.source == "real"].sample_id.head(30).tolist()
           + ["e0000000000000000000000000000e01"])
    return write_manifest(export_ws, "mixed", ids, config={"why": "test"})


def test_coco_export_reads_in_pycocotools_and_its_masks_match(export_ws, mixed, tmp_path):
    from pycocotools import mask as mask_utils
    from pycocotools.coco import COCO

    summary = export_manifest(export_ws, mixed, tmp_path / "coco", "coco")
    assert summary.verified and summary.samples == len(mixed.frame)
    coco = COCO(str(tmp_path / "coco" / "annotations.json"))
    assert len(coco.getImgIds()) == len(mixed.frame)
    anns = coco.loadAnns(coco.getAnnIds())
    n_objects = sum(len(o) for o in mixed.frame.objects if o is not None)
    assert 0 < len(anns) == n_objects - summary.skipped.get("zero-area boxes left out", 0)
    assert all(a["bbox"][2] > 0 and a["bbox"][3] > 0 for a in anns)
    by_sample = {img["id"]: img["sample_id"] for img in coco.dataset["images"]}
    rows = export_ws.to_pandas(["sample_id", "mask_bytes", "objects"]).set_index("sample_id")
    checked = 0
    for ann in anns:
        sid = by_sample[ann["image_id"]]
        inst = decode_bytes(rows.loc[sid, "mask_bytes"], where=sid).pixels
        obj = next(o for o in rows.loc[sid, "objects"]
                   if coco.loadCats(ann["category_id"])[0]["name"] == o["label"]
                   and np.allclose(o["bbox_xywh"], ann["bbox"]))
        decoded = coco.annToMask(ann)
        assert np.array_equal(decoded, (inst == obj["instance_id"]).astype(np.uint8))
        assert ann["area"] == float(mask_utils.area(coco.annToRLE(ann)))
        checked += 1
    assert checked == len(anns)


def test_hf_export_loads_with_datasets(export_ws, mixed, tmp_path):
    datasets = pytest.importorskip("datasets")
    export_manifest(export_ws, mixed, tmp_path / "hf", "hf")
    ds = datasets.load_dataset("parquet", data_dir=str(tmp_path / "hf" / "data"))
    rows = sum(len(split) for split in ds.values())
    assert rows == len(mixed.frame)
    first = ds["train"][0]
    assert first["image"].size[0] > 0 and first["label"] in set(mixed.frame.label)
    assert sorted(i for split in ds.values() for i in split["sample_id"]) == sorted(
        mixed.frame.sample_id)


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_torch_dataset_reads_the_table_exports(export_ws, mixed, tmp_path, fmt):
    from curator.export.torch import ManifestDataset

    export_manifest(export_ws, mixed, tmp_path / fmt, fmt)
    ds = ManifestDataset(tmp_path / fmt)
    assert len(ds) == len(mixed.frame) and ds.classes == sorted(set(mixed.frame.label))
    image, target, weight = ds[0]
    torch = pytest.importorskip("torch")
    assert isinstance(image, torch.Tensor) and image.dtype == torch.float32
    assert image.shape[0] == 3 and 0.0 <= float(image.min()) <= float(image.max()) <= 1.0
    assert ds.classes[target] == ds.labels[0] and weight == 1.0
    loader = torch.utils.data.DataLoader(ds, batch_size=4, collate_fn=list)
    assert sum(len(batch) for batch in loader) == len(ds)


def test_folder_export_counts_per_class_and_stays_inside(export_ws, mixed, tmp_path):
    out = tmp_path / "nested" / "folder"
    export_manifest(export_ws, mixed, out, "folder")
    counts = {p.name: len(list(p.iterdir())) for p in out.iterdir() if p.is_dir()}
    expected = mixed.frame.label.map(safe_name).value_counts().to_dict()
    assert counts == expected and safe_name("../../evil") in counts
    assert all(p.resolve().is_relative_to(out) for p in out.rglob("*"))
    assert not (tmp_path / "evil").exists() and not (tmp_path.parent / "evil").exists()


def test_exports_are_atomic_refuse_to_overwrite_and_verify(export_ws, mixed, tmp_path):
    out = tmp_path / "p"
    export_manifest(export_ws, mixed, out, "parquet")
    before = read_export("parquet", out)
    with pytest.raises(ExportError, match="exists already"):
        export_manifest(export_ws, mixed, out, "parquet")
    smaller = write_manifest(export_ws, "smaller", mixed.frame.sample_id[:5])
    export_manifest(export_ws, smaller, out, "parquet", force=True)
    assert len(read_export("parquet", out)) == 5 and len(before) == len(mixed.frame)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]
    with pytest.raises(ExportError, match="format must be one of"):
        export_manifest(export_ws, mixed, tmp_path / "x", "tfrecord")
    assert not (tmp_path / "x").exists()


def test_identical_curations_hash_alike_and_diff_names_the_change(export_ws, mixed):
    ids = mixed.frame.sample_id.tolist()
    again = write_manifest(export_ws, "mixed", list(reversed(ids)), config={"why": "test"})
    assert again.hash == mixed.hash and again.path == mixed.path
    d = diff_manifests(mixed, again)
    assert d["same"] and not d["added"] and not d["removed"]
    w = np.ones(len(ids) - 1)
    w[0] = 2.0
    changed = write_manifest(export_ws, "mixed", ids[1:] + [ids[0]][:0], weights=w,
                             config={"why": "test", "ratio": 2})
    assert changed.hash != mixed.hash
    d = diff_manifests(mixed, changed)
    assert d["removed"] == [ids[0]] and not d["added"]
    assert [c["sample_id"] for c in d["changed"]["weight"]] == [ids[1]]
    assert d["config"]["ratio"] == {"from": None, "to": "2"}
    assert read_manifest(changed.path).header["workspace"]["samples"] == \
        export_ws.samples.count()


def test_cli_manifest_and_export_end_to_end(export_ws, mixed, tmp_path):
    from typer.testing import CliRunner

    from curator.cli import app
    from curator.select import Selection
    from curator.subsets import save_subset

    run = CliRunner().invoke
    ids = mixed.frame.sample_id.tolist()
    save_subset(export_ws, "cli-a", Selection("test", _frame(ids[:20])), overwrite=True)
    save_subset(export_ws, "cli-b", Selection("test", _frame(ids[5:25])), overwrite=True)
    ws = ["-w", str(export_ws.root)]
    for name in ("cli-a", "cli-b"):
        out = run(app, ["manifest", "create", name, *ws])
        assert out.exit_code == 0 and f"manifests/{name}-" in out.output, out.output
    out = run(app, ["manifest", "diff", "cli-a", "cli-b", *ws])
    assert out.exit_code == 0 and "added: 5" in out.output and "removed: 5" in out.output
    assert "config subset: " in out.output
    listed = run(app, ["manifest", "list", *ws])
    assert "cli-a-" in listed.output and "20 samples" in listed.output
    target = tmp_path / "exp"
    out = run(app, ["export", "cli-a", "--format", "folder", "--out", str(target), *ws])
    assert out.exit_code == 0 and "verified" in out.output, out.output
    again = run(app, ["export", "cli-a", "--format", "folder", "--out", str(target), *ws])
    assert again.exit_code == 2 and "--force" in again.output
    unknown = run(app, ["export", "nope", "--out", str(tmp_path / "n"), *ws])
    assert unknown.exit_code == 2 and "no manifest 'nope'" in unknown.output
    shown = run(app, ["manifest", "show", "cli-a", *ws])
    assert json.loads(shown.output.split("\nsource")[0])["rows"] == 20


def _frame(ids):
    import pandas as pd

    return pd.DataFrame({"sample_id": ids, "distance": 0.0, "reason": "test"})


def test_force_never_replaces_the_workspace_or_a_folder_that_is_not_an_export(
        export_ws, mixed, tmp_path):
    with pytest.raises(ExportError, match="holds the workspace"):
        export_manifest(export_ws, mixed, export_ws.root, "parquet", force=True)
    with pytest.raises(ExportError, match="holds the workspace"):
        export_manifest(export_ws, mixed, export_ws.root.parent, "parquet", force=True)
    precious = tmp_path / "notes"
    precious.mkdir()
    (precious / "thesis.txt").write_text("keep me")
    with pytest.raises(ExportError, match="not a curator export"):
        export_manifest(export_ws, mixed, precious, "folder", force=True)
    assert (precious / "thesis.txt").read_text() == "keep me"
    assert export_ws.samples.count() > 0


def test_labels_that_clean_to_one_folder_stay_apart():
    from curator.export import class_folders

    folders = class_folders(["a/b", "a_b", "A_b", "plain", None, float("nan")])
    assert len(set(folders.values())) == len(folders) == 5
    assert folders["plain"] == "plain" and folders[None] == "_unlabeled"
    assert all("/" not in f and not f.startswith(".") for f in folders.values())


def test_weights_names_and_old_files(export_ws, tmp_path):
    import os
    import time

    import pandas as pd

    from curator.export.torch import ManifestDataset
    from curator.manifest import ManifestError, find_manifest, manifest_from_subset
    from curator.select import Selection
    from curator.subsets import save_subset

    ids = export_ws.to_pandas(["sample_id"], [("source", "==", "real")]).sample_id[:6].tolist()
    frame = pd.DataFrame({"sample_id": ids, "distance": 0.0, "reason": "t",
                          "weight": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]})
    save_subset(export_ws, "weighted", Selection("t", frame), overwrite=True)
    m = manifest_from_subset(export_ws, "weighted")
    assert dict(zip(m.frame.sample_id, m.frame.weight, strict=True)) == dict(
        zip(ids, frame.weight, strict=True))
    export_manifest(export_ws, m, tmp_path / "w", "parquet")
    ds = ManifestDataset(tmp_path / "w")
    assert dict(zip(ds.sample_ids, ds.weights, strict=True))[ids[0]] == 0.0  # not 1.0
    # A, B, then A again: the name finds A (the newest curation), not B.
    a = write_manifest(export_ws, "rv", ids[:3])
    time.sleep(0.01)
    write_manifest(export_ws, "rv", ids[:4])
    time.sleep(0.01)
    os.utime(a.path, (0, 0))  # however old the file is
    write_manifest(export_ws, "rv", ids[:3])
    assert find_manifest(export_ws, "rv") == a.path
    old = export_ws.root / "manifests" / "old-0000000000000000.parquet"
    import pyarrow.parquet as pq

    table = pq.read_table(a.path).drop_columns(["objects"])
    pq.write_table(table.replace_schema_metadata(pq.read_schema(a.path).metadata), old)
    with pytest.raises(ManifestError, match="lacks column"):
        read_manifest(old)
    old.unlink()


def test_a_weighted_mix_carries_its_synthetic_weight_into_every_export(export_ws, tmp_path):
    import pandas as pd
    import pyarrow.parquet as pq
    from typer.testing import CliRunner

    from curator.cli import app
    from curator.export.torch import ManifestDataset
    from curator.manifest import find_manifest
    from curator.workflows.ratio import save_mix, workspace_mix_inputs

    ws = ["-w", str(export_ws.root)]
    run = CliRunner().invoke
    out = run(app, ["select", "mix", "wmix", "-e", "pixels", "--ratio", "1:2", "--by",
                    "label", "--n-real", "2", "--synthetic-weight", "0.1", "--force", *ws])
    assert out.exit_code == 0, out.output
    out = run(app, ["manifest", "create", "wmix", *ws])
    assert out.exit_code == 0, out.output
    cli_manifest = read_manifest(find_manifest(export_ws, "wmix"))
    inputs = workspace_mix_inputs(export_ws, "pixels", by="label")
    _, manifest = save_mix(export_ws, "wmix-plan", inputs, 2.0, n_total=6,
                           synthetic_weight=0.1, overwrite=True)
    assert manifest.header["config"]["synthetic_weight"] == 0.1
    for m in (cli_manifest, manifest):
        expected = dict(zip(m.frame.sample_id, (m.frame.source == "real").map(
            {True: 1.0, False: 0.1}), strict=True))
        assert dict(zip(m.frame.sample_id, m.frame.weight, strict=True)) == expected
        assert set(m.frame.weight) == {1.0, 0.1}
    for fmt in ("parquet", "jsonl", "hf"):
        export_manifest(export_ws, manifest, tmp_path / fmt, fmt)
    lines = (tmp_path / "jsonl" / "manifest.jsonl").read_text().splitlines()
    got = {"parquet": pq.read_table(tmp_path / "parquet" / "manifest.parquet").to_pandas(),
           "jsonl": pd.DataFrame([json.loads(line) for line in lines]),
           "hf": pd.concat(pq.read_table(p).to_pandas() for p in
                           sorted((tmp_path / "hf" / "data").rglob("*.parquet")))}
    for fmt, frame in got.items():
        assert dict(zip(frame.sample_id, frame.weight, strict=True)) == expected, fmt
    for fmt in ("parquet", "jsonl"):
        ds = ManifestDataset(tmp_path / fmt)
        assert dict(zip(ds.sample_ids, ds.weights, strict=True)) == expected, fmt
