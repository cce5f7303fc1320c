"""Images with masks: pairing by relative name, palette indices kept, alpha mattes, and the
mask-specific rejects."""

from __future__ import annotations

import numpy as np
import pytest

from curator.errors import IngestError
from curator.ingest import ingest, read_masks


def test_masks_pair_by_relative_stem_and_palette_masks_keep_their_indices(
        ws, masks_case, look):
    ingest(ws, masks_case.source)

    rows = look.rows(ws)
    for origin, values in masks_case.extra["masks"].items():
        stored = look.decode(rows[origin]["mask_bytes"])
        assert stored.dtype == np.uint8 and (stored == values).all()
        assert rows[origin]["mask_kind"] == "instance"
    assert {o: r["label"] for o, r in rows.items()} == {"cat/a.png": "cat", "b.jpg": None}


def test_alpha_matte_becomes_the_image_without_alpha_plus_a_matte_mask(ws, alpha_case, look):
    ingest(ws, alpha_case.source)

    rows = look.rows(ws)
    for origin, alpha in alpha_case.extra["alpha"].items():
        row = rows[origin]
        assert (look.decode(row["image_bytes"]) == alpha_case.expected[origin]).all()
        assert (look.decode(row["mask_bytes"]) == alpha).all()
        assert row["mask_kind"] == "matte"
    assert {o: r["mode"] for o, r in rows.items()} == {"person/f1.png": "RGB", "f2.png": "L"}
    assert rows["person/f1.png"]["label"] == "person"


def test_a_mask_with_colour_pixels_is_refused(ws, src, look):
    src.image("i/a.png", size=(3, 3))
    src.image("m/a.png", size=(3, 3))

    ingest(ws, read_masks(src.root / "i", src.root / "m"))

    assert ws.samples.count() == 0
    reject = look.rejects(ws)["a.png"]
    assert reject["reason"] == "bad_mask" and "colour pixels" in reject["message"]


def test_a_mask_over_the_pixel_budget_is_refused_as_too_large(ws, src, look):
    src.image("i/a.png", size=(10, 10))
    src.mask("m/a.png", np.zeros((20, 20), np.uint8), palette=True)
    src.image("i/b.png", size=(10, 10))
    src.bomb_png("m/b.png", 20_000, 20_000, mode="P")
    src.image("i/c.png", size=(10, 10))
    src.bomb_png("m/c.png", 20_000, 20_000, mode="L")
    kept = src.image("i/d.png", size=(10, 10))
    src.mask("m/d.png", np.zeros((10, 10), np.uint8), palette=True)

    ingest(ws, read_masks(src.root / "i", src.root / "m", max_pixels=100))

    assert {i: r["reason"] for i, r in look.rejects(ws).items()} == {
        "a.png": "too_large", "b.png": "too_large", "c.png": "too_large"}
    assert (look.decode(look.rows(ws)["d.png"]["image_bytes"]) == kept).all()


@pytest.mark.parametrize(("masks", "kwargs", "message"), [
    (None, {}, "give either a mask folder or alpha_matte=True"),
    ("m", {"alpha_matte": True}, "give either a mask folder or alpha_matte=True"),
    ("m", {"mask_kind": "semantic"}, "mask_kind 'semantic' is not one of class, instance"),
    ("absent", {}, "mask folder .*absent does not exist"),
])
def test_inconsistent_options_are_refused(src, masks, kwargs, message):
    (src.root / "i").mkdir(parents=True)
    (src.root / "m").mkdir()
    with pytest.raises(IngestError, match=message):
        read_masks(src.root / "i", masks and src.root / masks, **kwargs)
