"""Text filters (``--where``) parsed into ``(column, op, value)`` tuples."""

from __future__ import annotations

import pytest

from curator.errors import CuratorError
from curator.query import parse_where, parse_wheres


@pytest.mark.parametrize(("text", "expected"), [
    ("gen_recipe == 'objects'", ("gen_recipe", "==", "objects")),
    ("pose_yaw_deg >= 30", ("pose_yaw_deg", ">=", 30)),
    ("label in ['3', '8']", ("label", "in", ["3", "8"])),
    ("split not in ('test',)", ("split", "not in", ("test",))),
    ("source != real", ("source", "!=", "real")),
])
def test_parse_where_reads_column_operator_and_a_literal_or_bare_word(text, expected):
    assert parse_where(text) == expected


def test_parse_where_refuses_what_it_cannot_read():
    with pytest.raises(CuratorError, match="write COLUMN OP VALUE"):
        parse_where("just words")
    with pytest.raises(CuratorError, match="needs a list"):
        parse_where("label in 3")


def test_parse_wheres_is_none_without_conditions():
    assert parse_wheres(None) is None and parse_wheres([]) is None
    assert parse_wheres(["n_objects > 1"]) == [("n_objects", ">", 1)]
