"""The ingest engine, run through every format: what lands, what is rejected and why,
idempotent re-runs, media for large images, batching and determinism."""

from __future__ import annotations

import hashlib
import re

import pyarrow.parquet as pq
import pytest

from curator import init_workspace
from curator.errors import CuratorError
from curator.hashing import pixel_id
from curator.ingest import ingest, read_folder

CASES = ["folder_case", "coco_case", "table_case", "masks_case", "alpha_case"]


def _shard_digests(ws) -> dict[str, str]:
    tables = (ws.samples, ws.rejects)
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for t in tables for p in t.shards()}


@pytest.mark.parametrize("case_name", CASES)
def test_good_items_land_and_each_bad_item_is_rejected_with_its_reason(
        ws, src, look, request, case_name):
    earlier = src.tree("earlier", {"old": 2})
    ingest(ws, read_folder(src.root / "earlier"))
    before = _shard_digests(ws)
    case = request.getfixturevalue(case_name)

    summary = ingest(ws, case.source)

    rows = look.rows(ws, ["sample_id", "source", "mode"])
    new = {o: r for o, r in rows.items() if o not in earlier}
    assert {o: r["sample_id"] for o, r in new.items()} == case.expected_ids()
    assert {r["mode"] for r in new.values()} == {look.mode_of(p) for p in case.expected.values()}
    assert {r["source"] for r in rows.values()} == {"real"}
    assert summary.added == len(case.expected)
    assert summary.reject_counts() == {
        reason: list(case.rejected.values()).count(reason) for reason in case.rejected.values()}
    rejects = look.rejects(ws)
    assert {item: r["reason"] for item, r in rejects.items()} == case.rejected
    for item, r in rejects.items():
        for part in item.split(": "):
            assert part in r["message"], (item, r["message"])
        assert r["format"] == case.source.fmt
        assert r["config_hash"] == summary.config_hash
    # earlier content: same shards, byte for byte, and its rows are all still there
    after = _shard_digests(ws)
    assert {name: after[name] for name in before} == before
    assert {pixel_id(p, "RGB") for p in earlier.values()} <= ws.sample_ids()


@pytest.mark.parametrize("case_name", CASES)
def test_reingest_of_the_same_source_is_a_noop(ws, request, case_name):
    case = request.getfixturevalue(case_name)
    first = ingest(ws, case.source)
    shards = _shard_digests(ws)
    n_rejects = ws.rejects.count()

    second = ingest(ws, case.source)

    assert first.added == len(case.expected) > 0
    assert (second.added, second.skipped_existing, second.shards_written) == (0, first.added, 0)
    assert _shard_digests(ws) == shards
    assert ws.rejects.count() == n_rejects == len(case.rejected)
    reject_ids = ws.rejects.to_table(["reject_id"])["reject_id"].to_pylist()
    assert len(set(reject_ids)) == len(reject_ids)
    ids = ws.to_table(["sample_id"])["sample_id"].to_pylist()
    assert len(ids) == len(set(ids)) == len(case.expected)


def test_duplicates_within_a_source_land_once(ws, src):
    pixels = src.image("dup/a/one.png")
    (src.root / "dup/b").mkdir()
    (src.root / "dup/b/two.png").write_bytes((src.root / "dup/a/one.png").read_bytes())
    src.path("dup/inner_link.png").symlink_to(src.root / "dup/a/one.png")

    summary = ingest(ws, read_folder(src.root / "dup"))

    assert (summary.added, summary.skipped_in_source) == (1, 2)
    assert ws.sample_ids() == {pixel_id(pixels, "RGB")}


def test_large_images_are_stored_under_media_not_inline(ws, src, look):
    small = src.image("mix/small.png", size=(2, 2))
    big_png = src.image("mix/big.png", size=(20, 20))
    big_jpg = src.image("mix/big.jpg", size=(20, 20))

    ingest(ws, read_folder(src.root / "mix"), inline_max_bytes=100)

    rows = look.rows(ws)
    assert rows["small.png"]["image_uri"] is None
    assert (look.decode(rows["small.png"]["image_bytes"]) == small).all()
    for origin, pixels, ext in (("big.png", big_png, "png"), ("big.jpg", big_jpg, "jpg")):
        row = rows[origin]
        sid = row["sample_id"]
        assert row["image_bytes"] is None
        assert re.fullmatch(rf"media/{sid[:2]}/{sid}\.{ext}", row["image_uri"])
        path = (ws.root / row["image_uri"]).resolve()
        assert path.is_file() and path.is_relative_to(ws.root.resolve())
        assert (look.decode(path.read_bytes()) == pixels).all()
        assert ws.image_bytes(row) == path.read_bytes()
    # the JPEG keeps its original bytes rather than a re-encoding
    assert ws.image_bytes(rows["big.jpg"]) == (src.root / "mix/big.jpg").read_bytes()
    assert not [p for p in (ws.root / "media").rglob("*") if p.name.startswith(".tmp-")]


def test_each_batch_of_rows_becomes_one_shard(ws, src):
    src.tree("seven", {"a": 4, "b": 3})

    summary = ingest(ws, read_folder(src.root / "seven"), batch_rows=3)

    assert (summary.added, summary.shards_written) == (7, 3)
    assert [pq.read_metadata(p).num_rows for p in ws.samples.shards()] == [3, 3, 1]


def test_batch_rows_below_one_is_refused_before_writing(ws, src):
    src.tree("one", {"a": 1})
    with pytest.raises(CuratorError, match="batch_rows must be >= 1, got 0"):
        ingest(ws, read_folder(src.root / "one"), batch_rows=0)
    assert ws.samples.shards() == []


def test_same_folder_gives_identical_rows_in_two_fresh_workspaces(tmp_path, src):
    src.tree("same", {"a": 6, "b": 5, None: 2})
    src.image("same/b/photo.jpg", size=(9, 9))
    cols = ["sample_id", "split", "image_bytes", "label", "origin", "width", "height", "mode"]

    tables = []
    for name in ("ws1", "ws2"):
        ws = init_workspace(tmp_path / name)
        ingest(ws, read_folder(src.root / "same"), split="train=0.5,test=0.5", batch_rows=4)
        tables.append(ws.to_table(cols).sort_by("sample_id").to_pylist())

    assert tables[0] == tables[1]
    assert len(tables[0]) == 14
    # the split depends on the content id alone (its first 13 hex digits as a fraction)
    for row in tables[0]:
        u = int(row["sample_id"][:13], 16) / 16**13
        assert row["split"] == ("train" if u < 0.5 else "test")
    assert {row["split"] for row in tables[0]} == {"train", "test"}
