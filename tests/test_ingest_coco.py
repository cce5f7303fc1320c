"""COCO instances: objects with boxes, polygons and RLE; label of the largest object;
annotation-level rejects; files that cannot be read at all."""

from __future__ import annotations

import json

import pytest

from curator.errors import IngestError
from curator.ingest import ingest, read_coco


def _object(label, instance_id, bbox, area, *, iscrowd=False, polygons=None, rle_json=None):
    return {"label": label, "instance_id": instance_id, "bbox_xywh": bbox, "area": area,
            "iscrowd": iscrowd, "polygons": polygons, "rle_json": rle_json,
            "visibility": None, "occluded": None}


def test_objects_carry_boxes_polygons_and_rle_and_label_is_the_largest(ws, coco_case, look):
    ingest(ws, coco_case.source)

    rows = look.rows(ws, ["label", "objects", "width", "height"])
    assert rows["a.png"]["objects"] == [
        _object("cat", 10, [0.0, 0.0, 2.0, 2.0], 4.0),
        _object("dog", 11, [1.0, 1.0, 6.0, 4.0], 20.5,
                polygons=[[1.0, 1.0, 7.0, 1.0, 7.0, 5.0, 1.0, 5.0]]),
    ]
    (person,) = rows["sub/b.png"]["objects"]
    assert person == _object("person", 12, [0.5, 0.0, 3.0, 3.0], 9.0, iscrowd=True,
                             rle_json=person["rle_json"])
    assert json.loads(person["rle_json"]) == coco_case.extra["rle"]
    assert {o: r["label"] for o, r in rows.items()} == {"a.png": "dog", "sub/b.png": "person",
                                                      "c.png": None}
    assert rows["c.png"]["objects"] == []
    assert (rows["a.png"]["width"], rows["a.png"]["height"]) == (8, 6)


def test_images_folder_may_live_apart_from_the_json(ws, src):
    pixels = src.image("pictures/x.png")
    path = src.coco("labels/instances.json", [{"id": 1, "file_name": "x.png"}], [], [])

    ingest(ws, read_coco(path, src.root / "pictures"))

    assert list(ws.to_table(["origin"])["origin"].to_pylist()) == ["x.png"]
    assert ws.to_table(["height"])["height"][0].as_py() == pixels.shape[0]


def test_malformed_entries_are_rejected_one_by_one(ws, src, look):
    src.image("c/one.png", size=(4, 4))
    images = [{"id": 1, "file_name": "one.png", "width": 4, "height": 4},
              {"id": 1, "file_name": "again.png"}, {"id": 2}, "junk",
              {"id": 3, "file_name": "one.png", "width": 9, "height": 9}]
    annotations = [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1]},
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 2, 2]},
        {"id": 2, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1]},
        {"id": 3, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "segmentation": [[1, 2]]},
        {"id": 4, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1],
         "segmentation": {"counts": "x"}},
    ]
    categories = [{"id": 1, "name": "cat"}, {"id": 2}]
    ingest(ws, read_coco(src.coco("c/instances.json", images, annotations, categories)))

    reasons = {item: r["reason"] for item, r in look.rejects(ws).items()}
    assert reasons == {
        "category {'id': 2}": "bad_category", "image id=1": "duplicate_id",
        "image {'id': 2}": "bad_image_entry", "image 'junk'": "bad_image_entry",
        "one.png": "size_mismatch", "annotation id=1": "duplicate_id",
        "annotation id=2": "bad_box", "annotation id=3": "bad_segmentation",
        "annotation id=4": "bad_segmentation",
    }
    # one.png lands once (image id 1) with its single valid object
    assert [len(r["objects"]) for r in look.rows(ws, ["objects"]).values()] == [1]


@pytest.mark.parametrize(("text", "message"), [
    ("{not json", r"not valid JSON \(line 1, column 2"),
    ("[1, 2]", "top level must be an object"),
    ('{"images": [], "annotations": []}', "missing or non-list 'categories'"),
])
def test_a_file_that_is_not_coco_is_refused_before_anything_is_written(ws, src, text, message):
    path = src.write("bad/instances.json", text)
    with pytest.raises(IngestError, match=message):
        ingest(ws, read_coco(path))
    assert ws.samples.shards() == [] and ws.rejects.shards() == []
