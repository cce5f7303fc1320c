"""Browsing helpers behind the app: pages, thumbnails, one sample's detail, neighbours."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from curator.errors import CuratorError
from curator.explore import (
    nearest_by_source,
    nearest_to_attributes,
    sample_detail,
    sample_page,
    thumbnails,
)


def test_pages_cover_every_match_once_in_id_order(report_ws):
    n = report_ws.samples.count()
    pages = [sample_page(report_ws, page=p, per_page=100) for p in range(-(-n // 100))]
    ids = [i for p in pages for i in p.rows.sample_id]
    assert len(ids) == n == len(set(ids)) and ids == sorted(ids)
    assert pages[0].pages == len(pages) and pages[0].total == n
    last = sample_page(report_ws, page=10**6, per_page=100)  # clamped to the last page
    assert last.page == len(pages) - 1
    real = sample_page(report_ws, filters=[("source", "==", "real")], per_page=7)
    assert real.total == 300 and set(real.rows.source) == {"real"} and len(real.rows) == 7
    shots = thumbnails(report_ws, real.rows.sample_id.tolist())
    assert set(shots) == set(real.rows.sample_id)
    assert Image.open(io.BytesIO(next(iter(shots.values())))).size == (8, 8)
    with pytest.raises(CuratorError, match="per_page"):
        sample_page(report_ws, per_page=0)


def test_detail_of_a_rendered_scene_has_planes_boxes_and_lineage(report_ws):
    sid = report_ws.to_pandas(["sample_id"], [("gen_recipe", "==", "objects")]).sample_id[0]
    d = sample_detail(report_ws, sid)
    assert d.core["source"] == "synthetic" and d.lineage["generator"]
    assert d.lineage["seed"] is not None and "pose_yaw_deg" in d.attributes
    assert {"mask", "depth", "normals"} <= set(d.planes)
    size = (d.core["height"], d.core["width"])
    for name, px in d.plane_images().items():
        assert px.dtype == np.uint8 and px.shape[:2] == size, name
    boxes = Image.open(io.BytesIO(d.boxes_overlay()))
    assert boxes.size == (d.core["width"], d.core["height"])
    assert len(d.objects) >= 1 and "bbox_xywh" in d.objects
    real = report_ws.to_pandas(["sample_id"], [("source", "==", "real")]).sample_id[0]
    plain = sample_detail(report_ws, real)
    assert plain.planes == {} and plain.boxes_overlay() is None and plain.image


def test_neighbours_by_source_and_by_attribute_target(report_ws):
    sid = report_ws.to_pandas(["sample_id"], [("source", "==", "real")]).sample_id[0]
    found = nearest_by_source(report_ws, "pixels", sid, k=3)
    assert sid not in set(found.sample_id)
    assert set(found.source) >= {"real", "synthetic"}
    for _, part in found.groupby("source"):
        assert len(part) == 3 and part.distance.is_monotonic_increasing
    sel = nearest_to_attributes(report_ws, ["pose_yaw_deg=40"], k=5)
    yaw = report_ws.to_pandas(["sample_id", "pose_yaw_deg"]).dropna()
    picked = yaw.set_index("sample_id").loc[sel.ids, "pose_yaw_deg"]
    best = (yaw.pose_yaw_deg - 40).abs().nsmallest(5)
    assert (picked - 40).abs().max() <= best.max() + 1e-6
    with pytest.raises(CuratorError, match="unknown attribute"):
        nearest_to_attributes(report_ws, ["yaw=40"])


def test_every_source_gets_its_k_nearest_even_when_far(report_ws):
    syn = report_ws.to_pandas(["sample_id"], [("gen_recipe", "==", "digits3d")]).sample_id[0]
    found = nearest_by_source(report_ws, "pixels", syn, k=4)
    assert found.groupby("source").size().to_dict() == {"real": 4, "synthetic": 4}


def test_a_map_box_selects_from_the_whole_map(report_ws):
    from curator.embed.map2d import embedding_map
    from curator.explore import map_box

    xy = embedding_map(report_ws, "pixels")
    everything = map_box(report_ws, "pixels", (xy.x.min(), xy.x.max()),
                         (xy.y.max(), xy.y.min()))  # corners in any order
    assert sorted(everything.ids) == sorted(xy.sample_id)
    mid = xy.x.median()
    left = map_box(report_ws, "pixels", (xy.x.min(), mid), (xy.y.min(), xy.y.max()))
    assert 0 < len(left) < len(xy) and (xy.set_index("sample_id").loc[left.ids].x <= mid).all()


def test_planes_of_16_bit_and_grey_alpha_images_display_without_wrapping():
    from curator.explore import SampleDetail
    from curator.images import encode_png

    deep = np.full((4, 4), 40000, np.uint16)
    img = SampleDetail("s", {"mask_kind": "instance"}, {}, {}, encode_png(deep, "I;16"),
                       {"mask": encode_png(np.array([[0, 1], [1, 2]] * 2, np.uint16)
                                           .repeat(2, axis=1), "I;16"),
                        "depth": encode_png(deep, "I;16")})
    out = img.plane_images()
    assert out["mask overlay"].dtype == np.uint8 and out["mask overlay"].shape == (4, 4, 3)
    assert (out["mask overlay"][0, 0] == 255).all()  # background shows the (bright) image
    la = SampleDetail("s", {}, {}, {}, encode_png(np.zeros((4, 4, 2), np.uint8), "LA"),
                      {"class_mask": encode_png(np.ones((4, 4), np.uint8), "L")})
    assert la.plane_images()["class_mask overlay"].shape == (4, 4, 3)


def test_a_page_and_a_sample_detail_round_trip(report_ws):
    from curator.explore import Page, SampleDetail

    page = sample_page(report_ws, per_page=5)
    back = Page.from_dict(page.to_dict())
    assert back.to_dict() == page.to_dict() and back.total == page.total
    assert back.to_frame().sample_id.tolist() == page.rows.sample_id.tolist()
    assert "page 1 of" in page._repr_html_()
    sid = report_ws.to_pandas(["sample_id"], [("gen_recipe", "==", "objects")]).sample_id[0]
    detail = sample_detail(report_ws, sid)
    again = SampleDetail.from_dict(detail.to_dict())
    assert again.to_dict() == detail.to_dict()
    assert again.image == detail.image and again.planes == detail.planes
    assert again.core == detail.core and len(again.objects) == len(detail.objects)
    assert detail.to_frame().loc["source", "value"] == "synthetic"
    assert f"sample {sid}" in detail._repr_html_()
