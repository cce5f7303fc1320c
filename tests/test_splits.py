"""Split specs: parsing, validation, and deterministic assignment by content id."""

from __future__ import annotations

import numpy as np
import pytest

from curator.errors import CuratorError
from curator.hashing import text_id
from curator.splits import SplitSpec


def test_single_name_assigns_everything():
    spec = SplitSpec.parse("train")
    assert {spec.assign(text_id(str(i))) for i in range(50)} == {"train"}
    assert str(spec) == "train"


def test_fractions_are_met_and_stable():
    spec = SplitSpec.parse("train=0.7, val=0.1, test=0.2")
    ids = [text_id("sample", str(i)) for i in range(20_000)]
    splits = np.array([spec.assign(i) for i in ids])
    for name, fraction in (("train", 0.7), ("val", 0.1), ("test", 0.2)):
        assert abs((splits == name).mean() - fraction) < 0.015, name
    assert [spec.assign(i) for i in ids[:100]] == list(splits[:100])  # same id, same split
    assert SplitSpec.parse(str(spec)) == spec


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Train", "lower-case"),
        ("train=0.8,test=0.3", "sum to 1.1"),
        ("train=0.5,train=0.5", "twice"),
        ("train=abc,test=1", "not a number"),
        ("train=1.5,test=-0.5", r"not in \[0, 1\]"),
        ("=1", "bad split name"),
    ],
)
def test_bad_specs_are_refused(text, message):
    with pytest.raises(CuratorError, match=message):
        SplitSpec.parse(text)
