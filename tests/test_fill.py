"""The fill workflow: a requests file read, a recipe narrowed per request, one seeded run
each (``curator fill`` prints what it yields)."""

from __future__ import annotations

import json

import pytest

from curator.errors import CuratorError
from curator.store import init_workspace, open_workspace
from curator.workflows.fill import fill, fill_steps, read_requests


def _requests(tmp_path, items):
    path = tmp_path / "requests.json"
    path.write_text(json.dumps(items))
    return path


def test_steps_narrow_the_recipe_and_scale_the_counts(tmp_path):
    path = _requests(tmp_path, [{"n": 3, "label": "7", "recipe": "digits3d"},
                                {"n": 5, "label": "2", "ranges": {"visibility": [0.5, 1]}}])
    steps = list(fill_steps(read_requests(path), "digits3d", scale=0.5))
    assert [(s.index, s.n, s.skipped) for s in steps] == [(0, 2, ()), (1, 3, ("visibility",))]
    assert all(s.recipe.name == "digits3d" for s in steps)
    with pytest.raises(CuratorError, match="does not exist"):
        read_requests(tmp_path / "missing.json")


def test_fill_renders_each_request_with_its_own_seed_and_resumes(tmp_path):
    ws = init_workspace(tmp_path / "ws")
    path = _requests(tmp_path, [{"n": 2, "label": "7", "recipe": "digits3d"}] * 2)
    first = fill(ws, path, seed=5, workers=1)
    assert [(s.seed, s.written) for s in first] == [(5, 2), (6, 2)]
    assert len(open_workspace(ws.root).to_pandas(["label"])) == 4
    assert [s.written for s in fill(ws, read_requests(path), seed=5, workers=1)] == [0, 0]
