"""Augmentation runs over a real workspace: variants keep labels consistent, inherit their
parent's attributes, resume without duplicates, and leave evaluation splits alone."""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
import pytest
from PIL import Image

from curator import init_workspace
from curator.images import encode_png, from_array
from curator.workflows.augment import augment
from generators.errors import GeneratorError
from generators.recipe import load_recipe
from generators.run import generate


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    ws = init_workspace(tmp_path_factory.mktemp("aug") / "ws")
    generate(ws, load_recipe("objects", {"size": 48}), 3, seed=0, workers=1)
    return ws


def _png(data):
    return np.asarray(Image.open(io.BytesIO(data)))


def test_variants_keep_masks_boxes_and_parent_attributes(scenes):
    summary = augment(scenes, 3, seed=1)
    assert (summary.parents_augmented, summary.written) == (3, 9)
    rows = scenes.to_pandas()
    parents = rows[rows["source"] == "synthetic"].set_index("sample_id")
    variants = rows[rows["source"] == "augmented"]
    assert len(variants) == 9
    for _, row in variants.iterrows():
        (parent_id,) = row["parent_ids"]
        parent = parents.loc[parent_id]
        assert row["label"] == parent["label"] and row["split"] == parent["split"]
        assert row["cam_yaw_deg"] == parent["cam_yaw_deg"]  # inherited attributes
        assert -15 <= row["aug_rotate_deg"] <= 15
        instance, classes = _png(row["mask_bytes"]), _png(row["class_mask_bytes"])
        assert instance.shape == (48, 48) == _png(row["image_bytes"]).shape[:2]
        assert np.array_equal(instance == 0, classes == 0)
        for obj in row["objects"]:
            ys, xs = np.nonzero(instance == obj["instance_id"])
            assert obj["area"] == len(xs) > 0
            assert list(obj["bbox_xywh"]) == [xs.min(), ys.min(), np.ptp(xs) + 1, np.ptp(ys) + 1]
    # Same settings and seed again: nothing new.
    again = augment(scenes, 3, seed=1)
    assert again.written == 0 and again.parents_done_before == 3


def test_same_seed_same_variants(tmp_path, scenes):
    other = init_workspace(tmp_path / "other")
    generate(other, load_recipe("objects", {"size": 48}), 3, seed=0, workers=1)
    augment(other, 2, seed=7)
    augment(scenes, 2, seed=7)
    ids = {
        name: sorted(w.to_table(columns=["sample_id"], filters=[("aug_variant", ">=", 0),
                                                                ("aug_seed", "==", 7)])
                     ["sample_id"].to_pylist())
        for name, w in (("a", other), ("b", scenes))}
    assert len(ids["a"]) == 6 and ids["a"] == ids["b"]


def test_boxes_without_masks_move_with_the_image_and_test_split_is_left_alone(tmp_path):
    ws = init_workspace(tmp_path / "ws")
    pixels = np.zeros((40, 60, 3), np.uint8)
    pixels[10:20, 5:25] = 255
    rows = []
    for split, value in (("train", 1), ("test", 2)):
        img = pixels.copy()
        img[0, 0] = value  # different content, different id
        rows.append({
            "sample_id": from_array(img).sample_id, "source": "real", "label": "box",
            "split": split, "image_bytes": encode_png(img, "RGB"), "width": 60, "height": 40,
            "mode": "RGB", "generator": "test", "generator_version": "0", "config_hash": "0",
            "objects": [{"label": "box", "instance_id": 1, "bbox_xywh": [5.0, 10.0, 20.0, 10.0],
                         "area": 200.0, "iscrowd": False, "polygons": [[5, 10, 25, 10, 25, 20]],
                         "rle_json": None, "visibility": None, "occluded": None}],
        })
    from curator.schema import SAMPLE_SCHEMA
    table = pa.Table.from_pylist(rows, schema=pa.schema(
        [SAMPLE_SCHEMA.field(n) for n in rows[0]]))
    ws.append_samples(table)
    flip = {"rotate_deg": (0.0, 0.0), "scale": (1.0, 1.0), "shift_frac": (0.0, 0.0),
            "flip_h": 1.0}
    summary = augment(ws, 1, seed=0, ranges=flip)
    assert summary.parents_augmented == 1  # the test-split sample is not augmented
    (row,) = ws.to_table(filters=[("source", "==", "augmented")]).to_pylist()
    (obj,) = row["objects"]
    assert obj["bbox_xywh"] == [60 - 25, 10, 20, 10]
    assert obj["polygons"] == [[55, 10, 35, 10, 35, 20]]
    flipped = _png(row["image_bytes"])
    assert flipped[15, 60 - 6].tolist() == [255, 255, 255] and flipped[15, 5].tolist() == [0] * 3


def test_bad_arguments_are_rejected(scenes):
    with pytest.raises(GeneratorError, match="positive"):
        augment(scenes, 0)
    with pytest.raises(GeneratorError):
        augment(scenes, 2, ranges={"scale": (1.2, 0.8)})


def test_summaries_render_as_tables_and_html(scenes):
    summary = augment(scenes, 1, seed=42)
    frame = summary.to_frame()
    assert frame.loc["written", "value"] == summary.written == 3
    assert summary._repr_html_().startswith("<h4>augment x1</h4>")
    generated = generate(scenes, load_recipe("objects", {"size": 48}), 1, seed=43, workers=1)
    assert "images_per_s" in generated.to_frame().index
    assert "shards" not in generated.to_frame().index


def test_a_variant_is_reproducible_from_the_run_seed_and_parent_id(scenes):
    from curator.workflows.augment import parent_rng
    from generators.augment import augment_variants, check_augment_ranges

    augment(scenes, 2, seed=77)
    rows = scenes.to_pandas(filters=[("aug_seed", "==", 77)])
    row = rows.sort_values(["aug_variant"]).iloc[-1]
    (parent_id,) = row["parent_ids"]
    (parent,) = scenes.to_table(filters=[("sample_id", "==", parent_id)]).to_pylist()
    from curator.workflows.augment import _parent_frame

    frame, _ = _parent_frame(scenes, parent)
    params, variant = augment_variants(frame, 2, parent_rng(77, parent_id),
                                       check_augment_ranges({}))[int(row["aug_variant"])]
    assert params.rotate_deg == pytest.approx(row["aug_rotate_deg"])
    assert np.array_equal(variant.image, _png(row["image_bytes"]))


def test_augment_summary_round_trips(tmp_path):
    from curator.workflows.augment import AugmentSummary

    summary = AugmentSummary("abc123", 7, 2, parents_seen=3, parents_augmented=3, written=6,
                             seconds=0.25)
    back = AugmentSummary.load(summary.save(tmp_path / "augment.json"))
    assert back == summary and back.to_dict() == summary.to_dict()
    assert str(back) == str(summary)
