"""Generation requests: validation, JSON round trip, and their translation into recipes."""

from __future__ import annotations

import json

import pytest

from curator.requests import (
    GenerationRequest,
    RequestError,
    RequestsResult,
    parse_requests,
    requests_frame,
    requests_json,
)
from generators.errors import RecipeError
from generators.requests import COLUMN_PARAMS, request_overrides, request_recipe


def test_round_trip_and_description():
    reqs = [GenerationRequest(40, "3", {"pose_yaw_deg": (30.0, 60.0)}, recipe="digits3d",
                              reason="coverage gap"),
            GenerationRequest(5, None, values={"bg_kind": ["texture"]})]
    assert parse_requests(requests_json(reqs)) == reqs
    assert parse_requests('[{"n": 2}]') == [GenerationRequest(2)]
    assert reqs[0].describe() == "40 x label 3, pose_yaw_deg 30..60"
    frame = requests_frame(reqs)
    assert frame.n.tolist() == [40, 5]
    assert frame.attributes.tolist() == ["pose_yaw_deg 30..60", "bg_kind in {texture}"]


@pytest.mark.parametrize("text, words", [
    ('{"requests": [{"n": 0}]}', "n >= 1"),
    ('[{"n": 3, "ranges": {"pose_yaw_deg": [60, 30]}}]', "lo <= hi"),
    ('[{"n": 3, "colour": 1}]', "unknown key"),
    ('[{"n": 3, "ranges": {"pose_yaw_deg": 5}}]', "malformed request"),
    ('[{"n": 3, "ranges": {"pose_yaw_deg": [30, 60, 90]}}]', r"must be \[lo, hi\]"),
    ('{"requests": 3}', "expected"),
    ("{", "not valid JSON"),
])
def test_malformed_requests_name_the_problem_and_the_item(text, words):
    with pytest.raises(RequestError, match=words):
        parse_requests(text, "r.json")


def test_overrides_clip_to_parameter_bounds_and_skip_outcome_columns():
    req = GenerationRequest(3, "7", {"pose_yaw_deg": (-400.0, 20.0), "n_occluders": (0.4, 1.6),
                                     "visibility": (0.5, 1.0)},
                            values={"bg_kind": ["texture"], "mat_texture": ["checker"]})
    overrides, skipped = request_overrides(req)
    assert overrides["randomizers"]["pose"]["yaw_deg"] == [-180, 20.0]
    assert overrides["randomizers"]["occluders"]["count"] == [0, 2]  # whole numbers, widened
    assert overrides["randomizers"]["background"]["kinds"] == ["texture"]
    assert overrides["scene"] == {"objects": {"query": {"labels": ["7"]}}}
    assert sorted(skipped) == ["mat_texture", "visibility"]


def test_request_recipe_keeps_the_recipe_query_and_narrows_ranges():
    recipe, skipped = request_recipe(GenerationRequest(
        3, "3", {"color_temp_k": (2500.0, 3500.0)}, recipe="digits3d"))
    assert skipped == []
    assert recipe.config["scene"]["objects"]["query"] == {"tags": ["digit"], "labels": ["3"]}
    assert recipe.params("lighting")["color_temp_k"]["range"] == [2500.0, 3500.0]
    with pytest.raises(RecipeError, match="names no recipe"):
        request_recipe(GenerationRequest(3))


def test_every_mapped_column_is_a_real_recipe_parameter():
    from generators.recipe import RANDOMIZERS

    for column, (group, name) in COLUMN_PARAMS.items():
        assert name in RANDOMIZERS[group], column


def test_requests_result_round_trips_with_its_requests():
    reqs = [GenerationRequest(40, "3", {"pose_yaw_deg": (30.0, 60.0)}, reason="coverage gap"),
            GenerationRequest(5, None, values={"bg_kind": ["texture"]})]
    result = RequestsResult("gaps", summary={"n": 2}, notes=["two"], requests=reqs)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["requests"] == [r.to_dict() for r in reqs]
    again = RequestsResult.from_dict(data)
    assert again.requests == reqs and again.to_dict() == result.to_dict()
    with pytest.raises(RequestError, match=r"requests\[0\]"):
        RequestsResult.from_dict({**data, "requests": [{"n": 0}]})
