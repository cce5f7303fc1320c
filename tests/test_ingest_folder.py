"""Image folders: labels from the first subfolder, the decoding budget, bad folders."""

from __future__ import annotations

import re

import pytest

from curator.errors import IngestError
from curator.ingest import ingest, read_folder


def test_label_is_the_first_subfolder_and_top_level_files_have_none(ws, folder_case, look):
    summary = ingest(ws, folder_case.source)

    rows = look.rows(ws)
    assert {o: r["label"] for o, r in rows.items()} == {
        "cat/img00000.png": "cat", "cat/img00001.png": "cat", "cat/deep/er.png": "cat",
        "dog/img00002.png": "dog", "dog/photo.jpg": "dog", "img00003.png": None}
    for origin, pixels in folder_case.expected.items():
        row = rows[origin]
        assert (look.decode(row["image_bytes"]) == pixels).all()
        assert (row["height"], row["width"]) == pixels.shape[:2]
        assert row["image_uri"] is None and row["mask_bytes"] is None
        assert row["split"] == "unassigned"
        assert row["generator"] == "ingest.folder"
        assert row["config_hash"] == summary.config_hash
        assert row["objects"] is None and row["parent_ids"] == []


def test_split_option_names_the_split_of_every_row(ws, folder_case):
    ingest(ws, folder_case.source, split="val")
    assert set(ws.to_table(["split"])["split"].to_pylist()) == {"val"}


def test_image_over_the_pixel_budget_is_refused_as_too_large(ws, src, look):
    small = src.image("budget/a/small.png", size=(10, 10))
    src.image("budget/a/big.png", size=(20, 20))
    src.bomb_png("budget/bomb.png", 30_000, 30_000)

    summary = ingest(ws, read_folder(src.root / "budget", max_pixels=100))

    assert list(look.rows(ws, ["sample_id"])) == ["a/small.png"]
    assert (look.decode(look.rows(ws)["a/small.png"]["image_bytes"]) == small).all()
    rejects = look.rejects(ws)
    assert {i: r["reason"] for i, r in rejects.items()} == {"a/big.png": "too_large",
                                                            "bomb.png": "too_large"}
    assert "20x20 exceeds the decoding limit of 100 pixels" in rejects["a/big.png"]["message"]
    assert summary.reject_counts() == {"too_large": 2}


def test_a_header_claiming_a_huge_image_is_refused_under_the_default_budget(ws, src, look):
    src.bomb_png("bombs/huge.png", 30_000, 30_000)
    ingest(ws, read_folder(src.root / "bombs"))
    assert look.rejects(ws)["huge.png"]["reason"] == "too_large"


def test_progress_counts_every_file_against_the_total(ws, folder_case):
    calls = []
    ingest(ws, folder_case.source, progress=lambda done, total: calls.append((done, total)))
    # 6 images, notes.txt, broken.png and empty.png are drafts; escaping links are not
    assert folder_case.source.total == 9
    assert calls == [(i, 9) for i in range(1, 10)]


@pytest.mark.parametrize("make_bad_root", [
    lambda root: root / "absent",
    lambda root: root / "file.png",
], ids=["missing", "not-a-folder"])
def test_a_missing_or_non_folder_source_is_refused(src, make_bad_root):
    src.image("file.png")
    bad = make_bad_root(src.root)
    expected = f"image folder {re.escape(str(bad))} (does not exist|is not a directory)"
    with pytest.raises(IngestError, match=expected):
        read_folder(bad)
