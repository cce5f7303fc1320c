"""The workspace store: schema round-trip, projection and filters, streaming, atomicity."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing as mp

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import curator
from curator.errors import SchemaError, WorkspaceError
from curator.hashing import text_id
from curator.images import encode_png
from curator.schema import SAMPLE_SCHEMA

NOW = dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.timezone.utc)


def _rows(n: int, start: int = 0, **overrides) -> pa.Table:
    """``n`` complete sample rows with distinct ids and every core column set."""
    ids = [text_id("row", str(i)) for i in range(start, start + n)]
    png = encode_png(np.zeros((2, 2), np.uint8), "L")
    columns = {
        "sample_id": ids,
        "source": ["real", "synthetic", "augmented", "oversampled"] * (n // 4) + ["real"] * (n % 4),
        "label": [str(i % 3) for i in range(start, start + n)],
        "split": ["train", "test"] * (n // 2) + ["train"] * (n % 2),
        "image_bytes": [png] * n,
        "width": [2] * n,
        "height": [2] * n,
        "mode": ["L"] * n,
        "objects": [[{"label": "car", "instance_id": 1, "bbox_xywh": [0.0, 0.5, 1.0, 1.5],
                      "area": 1.5, "iscrowd": False, "polygons": [[0, 0, 1, 0, 1, 1]],
                      "rle_json": None, "visibility": 0.5, "occluded": True}]] * n,
        "origin": [f"row{i}" for i in range(start, start + n)],
        "generator": ["test"] * n,
        "generator_version": ["1"] * n,
        "config_hash": ["abc"] * n,
        "seed": list(range(start, start + n)),
        "parent_ids": [[ids[0]]] * n,
        "ingested_at": [NOW] * n,
        "yaw_deg": np.linspace(-90, 90, n),
        "color_temp_k": np.arange(start, start + n, dtype=np.int64) * 100,
        "background": ["flat", "gradient"] * (n // 2) + ["flat"] * (n % 2),
        "embedding": pa.FixedSizeListArray.from_arrays(
            pa.array(np.arange(n * 4, dtype=np.float32)), 4),
    }
    columns.update(overrides)
    return pa.table(columns)


@pytest.fixture
def ws(tmp_path):
    return curator.init_workspace(tmp_path / "ws")


def test_round_trip_keeps_values_and_types(ws):
    table = _rows(10)
    assert ws.append_samples(table) == 10
    back = ws.to_table()
    for field in SAMPLE_SCHEMA:
        assert back.schema.field(field.name).type == field.type, field.name
    assert back.schema.field("yaw_deg").type == pa.float64()
    assert back.schema.field("color_temp_k").type == pa.int64()
    assert back.schema.field("background").type == pa.string()
    assert back.schema.field("embedding").type == pa.list_(pa.float32(), 4)
    expected = table.to_pylist()
    got = back.sort_by("seed").to_pylist()
    for want, have in zip(expected, got, strict=True):
        for key, value in want.items():
            if key == "objects":
                obj = have[key][0]
                assert obj["bbox_xywh"] == [0.0, 0.5, 1.0, 1.5]
                assert obj["polygons"] == [[0.0, 0.0, 1.0, 0.0, 1.0, 1.0]]
                assert obj["occluded"] is True and obj["visibility"] == 0.5
            elif key == "embedding":
                assert have[key] == pytest.approx(list(value))
            else:
                assert have[key] == value, key


def test_missing_optional_columns_get_defaults(ws):
    table = _rows(3).select(["sample_id", "source", "generator", "generator_version",
                              "config_hash"])
    ws.append_samples(table)
    back = ws.to_pandas()
    assert list(back["split"]) == ["unassigned"] * 3
    assert all(len(p) == 0 for p in back["parent_ids"])
    assert back["label"].isna().all()
    assert (back["ingested_at"] > dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)).all()


def test_projection_and_filters(ws):
    ws.append_samples(_rows(40))
    frame = ws.to_pandas(columns=["sample_id", "label"], filters=[("label", "==", "1")])
    assert list(frame.columns) == ["sample_id", "label"]
    assert len(frame) == len([i for i in range(40) if i % 3 == 1])
    expr = (pc.field("source") == "real") & (pc.field("yaw_deg") > 0)
    table = ws.to_table(columns=["source", "yaw_deg"], filters=expr)
    assert table.num_rows > 0
    assert set(table["source"].to_pylist()) == {"real"}
    assert pc.min(table["yaw_deg"]).as_py() > 0
    with pytest.raises(SchemaError, match="unknown column.*nope"):
        ws.to_table(columns=["nope"])
    with pytest.raises(SchemaError, match="bad filters"):
        ws.to_table(filters=[("label", "~~", "1")])


def test_streaming_reads_shard_by_shard(ws):
    for i in range(5):
        ws.append_samples(_rows(30, start=30 * i))
    assert len(ws.samples.shards()) == 5
    batches = list(ws.iter_batches(columns=["sample_id"], batch_size=7))
    assert max(b.num_rows for b in batches) <= 7
    assert sum(b.num_rows for b in batches) == 150
    assert len(ws.sample_ids()) == 150


def test_append_is_idempotent_and_shards_by_size(ws):
    assert ws.append_samples(_rows(25), shard_rows=10) == 25
    assert len(ws.samples.shards()) == 3
    assert ws.append_samples(_rows(30), shard_rows=10) == 5  # 25 already there
    assert ws.samples.count() == 30
    ids = ws.to_table(["sample_id"])["sample_id"]
    assert pc.count_distinct(ids).as_py() == 30


def test_attribute_types_stay_consistent_across_appends(ws):
    ws.append_samples(_rows(4))
    ws.append_samples(_rows(4, start=4, color_temp_k=pa.array([1, 2, 3, 4], pa.int32())))
    assert ws.to_table().schema.field("color_temp_k").type == pa.int64()
    with pytest.raises(SchemaError, match="color_temp_k"):
        ws.append_samples(_rows(4, start=8, color_temp_k=["warm"] * 4))
    assert ws.samples.count() == 8


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"source": ["real", "fake", "real"]}, "source.*row 1.*'fake'"),
        ({"sample_id": ["x", "y", "z"]}, "sample_id.*row 0"),
        ({"split": ["train", "Train", "test"]}, "split.*row 1"),
        ({"width": [2, 0, 2]}, "width.*row 1"),
        ({"image_uri": ["media/a.png", "../etc/passwd", None]}, "image_uri"),
        ({"mask_kind": ["class", "blob", None]}, "mask_kind.*row 1"),
    ],
)
def test_bad_values_are_refused_with_row_and_column(ws, override, message):
    ws.append_samples(_rows(2, start=100))
    before = sorted(p.name for p in ws.samples.shards())
    with pytest.raises(SchemaError, match=message):
        ws.append_samples(_rows(3, **override))
    assert sorted(p.name for p in ws.samples.shards()) == before


def test_structural_errors_are_clear(ws):
    with pytest.raises(SchemaError, match="required column.*sample_id"):
        ws.append_samples(pa.table({"label": ["a"]}))
    dup = _rows(2)
    dup = dup.set_column(0, "sample_id", pa.array([dup["sample_id"][0].as_py()] * 2))
    with pytest.raises(SchemaError, match="unique"):
        ws.append_samples(dup)
    with pytest.raises(SchemaError, match="not a valid name"):
        ws.append_samples(_rows(1).append_column("Head Yaw", pa.array([1.0])))
    with pytest.raises(SchemaError, match="nested"):
        ws.append_samples(_rows(1).append_column("meta", pa.array([{"a": 1}])))


def test_init_and_open_errors(tmp_path):
    with pytest.raises(WorkspaceError, match="does not exist.*curator init"):
        curator.open_workspace(tmp_path / "missing")
    (tmp_path / "plain").mkdir()
    with pytest.raises(WorkspaceError, match="not a curator workspace"):
        curator.open_workspace(tmp_path / "plain")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.txt").write_text("keep me")
    with pytest.raises(WorkspaceError, match="not an empty directory"):
        curator.init_workspace(tmp_path / "full")
    assert (tmp_path / "full" / "x.txt").read_text() == "keep me"
    ws = curator.init_workspace(tmp_path / "ws")
    with pytest.raises(WorkspaceError, match="already a curator workspace"):
        curator.init_workspace(ws.root)
    assert curator.init_workspace(ws.root, exist_ok=True).root == ws.root
    marker = ws.root / "workspace.json"
    meta = json.loads(marker.read_text())
    marker.write_text(json.dumps({**meta, "version": 99}))
    with pytest.raises(WorkspaceError, match="newer curator"):
        curator.open_workspace(ws.root)


def test_corrupt_shard_is_reported_with_its_path(ws):
    ws.append_samples(_rows(4))
    ws.append_samples(_rows(4, start=4))
    victim = ws.samples.shards()[1]
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
    with pytest.raises(WorkspaceError, match=victim.name):
        ws.to_table()
    victim.unlink()  # moving the bad shard aside leaves the rest readable
    assert ws.samples.count() == 4


def test_interrupted_write_leaves_no_visible_rows(ws):
    ws.append_samples(_rows(4))
    # What a writer killed mid-shard leaves behind: a partial temp file.
    stale = ws.samples.directory / ".tmp-part-00000009-deadbeef.parquet"
    stale.write_bytes(b"PAR1 partial")
    stale_media = ws.root / "media" / ".tmp-0123-abcd.png"  # a half-copied large image
    stale_media.write_bytes(b"\x89PNG partial")
    assert ws.samples.count() == 4  # readers ignore it
    ws.append_samples(_rows(4, start=4))  # the next writer cleans it up
    assert not stale.exists() and not stale_media.exists()
    assert ws.samples.count() == 8


def _append_in_child(root: str, start: int) -> None:
    ws = curator.open_workspace(root)
    for i in range(5):
        ws.append_samples(_rows(6, start=start + 6 * i))


def test_concurrent_writers_lose_no_rows(ws):
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_append_in_child, args=(str(ws.root), s)) for s in (0, 1000)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert ws.samples.count() == 60
    assert len(ws.sample_ids()) == 60
    names = [p.name for p in ws.samples.shards()]
    assert len({n.split("-")[1] for n in names}) == len(names)  # sequence numbers unique


def test_image_bytes_reads_inline_and_media(ws):
    png = encode_png(np.full((3, 3), 7, np.uint8), "L")
    (ws.root / "media" / "ab").mkdir(parents=True)
    (ws.root / "media" / "ab" / "x.png").write_bytes(png)
    assert ws.image_bytes({"image_bytes": png}) == png
    assert ws.image_bytes({"image_bytes": None, "image_uri": "media/ab/x.png"}) == png
    with pytest.raises(WorkspaceError, match="no image"):
        ws.image_bytes({"sample_id": "s", "image_bytes": None, "image_uri": None})


def test_written_shards_are_plain_parquet(ws):
    ws.append_samples(_rows(5))
    shard = ws.samples.shards()[0]
    table = pq.read_table(shard)
    assert table.num_rows == 5
    assert table.schema.field("sample_id").nullable is False
    assert pq.ParquetFile(shard).metadata.num_row_groups >= 1


def test_info_counts(ws):
    ws.append_samples(_rows(12))
    info = ws.info()
    assert info.n_samples == 12 and info.n_shards == 1 and info.n_rejects == 0
    assert info.counts["count"].sum() == 12
    real_train = info.counts.query("source == 'real' and split == 'train'")["count"].sum()
    expected = sum(1 for i in range(12) if i % 4 == 0 and i % 2 == 0)
    assert real_train == expected
    assert info.bytes_on_disk > 0


def test_the_marker_is_read_through_the_store(tmp_path):
    ws = curator.init_workspace(tmp_path / "ws")
    meta = json.loads((ws.root / "workspace.json").read_text())
    marker = ws.marker()
    assert (marker.workspace_id, marker.version) == (meta["workspace_id"], meta["version"])
    assert marker.created_by == meta["created_by"]


def test_workspace_info_round_trips(ws):
    ws.append_samples(_rows(8))
    info = ws.info()
    again = type(info).from_dict(info.to_dict())
    assert again.to_dict() == info.to_dict() and again.root == info.root
    assert "n_samples" in info.to_frame().index and "<h4>" in info._repr_html_()
