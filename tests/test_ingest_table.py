"""CSV and Parquet tables: typed attributes, label and split columns, paths relative to the
table, column errors raised before anything is written, attribute types across ingests."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from curator.errors import CuratorError, IngestError
from curator.ingest import ingest, read_table


@pytest.mark.parametrize("table_suffix", ["csv", "parquet"])
def test_attributes_keep_their_types_and_label_split_come_from_columns(
        ws, src, table_case, look, monkeypatch):
    monkeypatch.chdir(src.root)  # paths resolve against the table's folder, not the cwd
    ingest(ws, table_case.source, split="val")

    schema = ws.samples.schema()
    assert {n: schema.field(n).type for n in ("score", "count", "camera")} == {
        "score": pa.float64(), "count": pa.int64(), "camera": pa.string()}
    rows = look.rows(ws, ["label", "split", "score", "count", "camera"])
    assert {o: (r["label"], r["split"], r["score"], r["count"], r["camera"])
            for o, r in rows.items()} == {
        "row 1: imgs/a.png": ("3", "train", 0.5, 1, "left"),
        "row 2: imgs/deeper/b.jpg": ("7", "test", 1.25, 2, "right"),
    }


def test_paths_resolve_against_an_explicit_root(ws, src):
    src.image("pics/a.png")
    path = src.table("tables/t.csv", {"file_name": ["a.png"], "label": ["x"]})

    ingest(ws, read_table(path, root=src.root / "pics"))

    assert ws.to_table(["origin", "label"]).to_pylist() == [{"origin": "row 1: a.png",
                                                             "label": "x"}]


def test_mask_column_pairs_each_row_with_its_mask(ws, src, look):
    src.image("m/img.png", size=(3, 4))
    values = np.arange(12, dtype=np.uint8).reshape(3, 4)
    src.mask("m/mask.png", values)
    path = src.table("m/t.csv", {"image": ["img.png"], "seg": ["mask.png"]})

    ingest(ws, read_table(path, mask_column="seg", mask_kind="instance"))

    (row,) = look.rows(ws).values()
    assert (look.decode(row["mask_bytes"]) == values).all()
    assert row["mask_kind"] == "instance"
    assert "seg" not in ws.samples.schema().names


def test_bad_rows_are_rejected_and_the_rest_land(ws, src, look):
    src.image("r/a.png")
    src.image("r/b.png")
    src.image("r/c.png")
    path = src.table("r/t.csv", {"path": ["a.png", "b.png", "", "c.png"],
                                 "split": ["train", "Train", "test", None],
                                 "label": ["x", "y", "z", None]})

    ingest(ws, read_table(path))

    # an empty cell is a missing value: default split, no label (as a Parquet null would be)
    assert {o: (r["split"], r["label"]) for o, r in look.rows(ws, ["split", "label"]).items()} == {
        "row 1: a.png": ("train", "x"), "row 4: c.png": ("unassigned", None)}
    assert {i: r["reason"] for i, r in look.rejects(ws).items()} == {
        "row 2": "bad_split", "row 3": "missing_value"}


@pytest.mark.parametrize(("kwargs", "names"), [
    ({"image_column": "picture"}, "image path column 'picture' not found"),
    ({"label_column": "class"}, "label column 'class' not found"),
    ({"attributes": ["score", "ghost"]}, r"attribute column\(s\) \['ghost'\] not found"),
])
def test_a_missing_column_is_named_with_the_columns_there_are(ws, src, kwargs, names):
    path = src.table("t.csv", {"image_path": ["a.png"], "score": [1.0]})
    with pytest.raises(IngestError, match=f"{names}; columns are: image_path, score$"):
        ingest(ws, read_table(path, **kwargs))
    assert ws.samples.shards() == [] and ws.rejects.shards() == []


def test_a_table_without_an_image_column_lists_what_was_looked_for(src):
    path = src.table("t.parquet", {"picture": ["a.png"], "label": ["x"]})
    with pytest.raises(IngestError, match="looked for image_path, image, path, file_name.*"
                                          "Columns are: picture, label"):
        read_table(path)


@pytest.mark.parametrize(("column", "problem"), [
    ("width", "clashes with the core column"), ("Score", "is not a valid name")])
def test_a_column_that_cannot_be_an_attribute_is_refused(src, column, problem):
    path = src.table("t.csv", {"image_path": ["a.png"], column: [1]})
    with pytest.raises(IngestError, match=f"attribute column '{column}' .*{problem}"):
        read_table(path)


def test_a_later_table_keeps_the_workspace_attribute_type(ws, src, look):
    src.tree("imgs", {None: 4})
    ingest(ws, read_table(src.table("imgs/a.csv", {"path": ["img00000.png", "img00001.png"],
                                                   "score": [0.5, 1.5]})))

    ingest(ws, read_table(src.table("imgs/b.csv", {"path": ["img00002.png"], "score": [2]})))

    assert ws.samples.schema().field("score").type == pa.float64()
    assert sorted(ws.to_table(["score"])["score"].to_pylist()) == [0.5, 1.5, 2.0]


def test_an_attribute_type_clash_is_refused_and_leaves_the_workspace_readable(ws, src, look):
    src.tree("imgs", {None: 4})
    ingest(ws, read_table(src.table("imgs/a.csv", {"path": ["img00000.png", "img00001.png"],
                                                   "camera": ["left", "right"]})))
    shards = ws.samples.shards()

    with pytest.raises(CuratorError, match="column .camera.: mixed or unsupported"):
        ingest(ws, read_table(src.table("imgs/b.csv", {"path": ["img00002.png"],
                                                       "camera": [7]})))

    assert ws.samples.shards() == shards
    assert ws.to_table(["camera"])["camera"].to_pylist() == ["left", "right"]
