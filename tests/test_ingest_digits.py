"""The built-in digits: all 1,797 land, labelled, split by content hash, pixel-exact."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from curator.ingest import ingest, read_digits
from curator.ingest.digits import digits_to_uint8


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def test_all_digits_land_labelled_split_and_pixel_exact(ws, digits, look):
    summary = ingest(ws, read_digits())

    table = ws.to_table(["sample_id", "label", "split", "image_bytes", "digits_index", "mode"])
    assert summary.added == table.num_rows == 1797
    assert summary.rejected == 0 and summary.skipped_in_source == 0
    index = np.array(table["digits_index"].to_pylist())
    assert sorted(index) == list(range(1797))
    labels = np.array(table["label"].to_pylist())
    assert (labels == digits.target[index].astype(str)).all()
    assert set(labels) == {str(d) for d in range(10)}
    assert set(table["mode"].to_pylist()) == {"L"}
    # default split "train=0.8,test=0.2" by content id: the first 13 hex digits as a fraction
    u = np.array([int(sid[:13], 16) / 16**13 for sid in table["sample_id"].to_pylist()])
    splits = np.array(table["split"].to_pylist())
    assert (splits == np.where(u < 0.8, "train", "test")).all()
    assert 0.75 < (splits == "train").mean() < 0.85
    expected = digits_to_uint8(digits.images)
    stored = np.stack([look.decode(b) for b in table["image_bytes"].to_pylist()])
    assert (stored == expected[index]).all()


def test_digit_intensities_scale_from_0_16_to_0_255():
    scaled = digits_to_uint8(np.array([[0.0, 1.0, 8.0, 15.0, 16.0]]))
    assert scaled.dtype == np.uint8
    assert scaled.tolist() == [[0, 16, 128, 239, 255]]


@pytest.mark.parametrize(("n", "rows"), [(0, 0), (25, 25), (5000, 1797)])
def test_n_takes_the_first_n_digits(n, rows):
    source = read_digits(n)
    origins = [d.origin for d in source.items()]
    assert source.total == len(origins) == rows
    assert origins[:1] == ["sklearn.datasets.load_digits[0]"][:rows]
