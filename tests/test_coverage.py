"""Coverage gaps on planted data: a yaw range the synthetic set never visits must come back
as one region and one generation request for that range."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from curator.coverage import CoverageResult, coverage_gaps
from curator.requests import GenerationRequest
from curator.results import figure_svg
from curator.stats import AnalysisError

YAW_SCALE, LIGHT_SCALE = 34.6, 0.289  # standard deviations of U(-60, 60) and U(0, 1)


def planted(n_real: int = 1500, n_fake: int = 1500, fake_yaw_max: float = 30.0,
            seed: int = 0) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Real yaw ~ U(-60, 60) and light ~ U(0, 1), labels a/b at random; synthetic yaw only
    up to ``fake_yaw_max``. The embedding is the standardized attributes themselves."""
    rng = np.random.default_rng(seed)
    yaw, light = rng.uniform(-60, 60, n_real), rng.uniform(0, 1, n_real)
    frame = pd.DataFrame({"sample_id": [f"r{i}" for i in range(n_real)],
                          "label": rng.choice(["a", "b"], n_real), "pose_yaw_deg": yaw,
                          "light": light, "seed": rng.integers(0, 99, n_real)})
    fake_yaw, fake_light = rng.uniform(-60, fake_yaw_max, n_fake), rng.uniform(0, 1, n_fake)

    def embed(y, li):
        return np.c_[y / YAW_SCALE, (li - 0.5) / LIGHT_SCALE].astype(np.float32)

    return embed(yaw, light), embed(fake_yaw, fake_light), frame


@pytest.fixture(scope="module")
def gap_result() -> CoverageResult:
    real, fake, frame = planted()
    return coverage_gaps(real, fake, frame, recipe="glyphs")


def test_missing_yaw_range_is_one_region_with_one_request_per_label(gap_result):
    assert gap_result.summary["n_regions"] == 1
    requests = gap_result.requests
    assert [r.label for r in requests] == ["a", "b"]  # labels a/b are mixed in the region
    for request in requests:
        lo, hi = request.ranges["pose_yaw_deg"]
        assert 30 <= lo < hi <= 60 and hi - lo > 15  # inside the missing range, most of it
        assert "light" not in request.ranges  # the region spans all light values
        assert request.recipe == "glyphs" and request.reason.startswith("coverage gap: ")
    n_uncovered = gap_result.summary["n_uncovered"]
    total = sum(r.n for r in requests)
    assert 0.9 * n_uncovered <= total <= n_uncovered + len(requests)
    assert abs(gap_result.tables["regions"].loc[0, "n_real"] - total) <= len(requests)


def test_region_members_are_the_uncovered_high_yaw_samples(gap_result):
    real, fake, frame = planted()
    unc = gap_result.tables["uncovered"]
    yaw = frame.set_index("sample_id").loc[unc["sample_id"], "pose_yaw_deg"]
    in_region = (unc["region"] == 0).to_numpy()
    assert (yaw[in_region] > 28).all()  # the region is the range synthetic samples miss
    assert (~in_region).sum() < 0.01 * len(frame)  # chance holes elsewhere: a few, unlisted
    assert (unc["region"][~in_region] == -1).all()
    assert gap_result.summary["n_uncovered"] > 0.8 * (frame["pose_yaw_deg"] > 32).sum()
    # The nearest-synthetic distances agree with a brute-force search.
    real_row = frame.reset_index().set_index("sample_id").loc[unc["sample_id"], "index"]
    d = np.sqrt(((real[real_row.to_numpy(), None, :].astype(np.float64) - fake[None]) ** 2)
                .sum(-1)).min(1)
    np.testing.assert_allclose(unc["nearest_synthetic_distance"], d, rtol=1e-5)
    assert (unc["nearest_synthetic_distance"] > gap_result.summary["radius"]).all()
    finding = gap_result.finding("coverage_gap")
    assert finding.subject.startswith("pose_yaw_deg ")
    assert gap_result.tables["generation_requests"].loc[0, "recipe"] == "glyphs"


def test_label_of_a_one_label_region_is_requested():
    real, fake, frame = planted(seed=1)
    frame["label"] = np.where(frame["pose_yaw_deg"] > 20, "high", frame["label"])
    (request,) = coverage_gaps(real, fake, frame).requests
    assert request.label == "high"


def test_full_coverage_gives_no_regions():
    real, fake, frame = planted(n_fake=3000, fake_yaw_max=60.0, seed=2)
    result = coverage_gaps(real, fake, frame)
    assert result.summary["n_regions"] == 0 and result.requests == []
    assert result.summary["share_uncovered"] < 0.02
    assert result.tables["generation_requests"].empty
    big = coverage_gaps(*planted(fake_yaw_max=0.0)[:3], radius=10.0)
    assert big.summary["n_uncovered"] == 0 and big.summary["radius"] == 10.0


def test_no_synthetic_samples_leaves_everything_uncovered():
    real, _, frame = planted(n_real=300)
    result = coverage_gaps(real, np.zeros((0, 2), np.float32), frame, min_region=1)
    assert result.summary["n_uncovered"] == 300
    assert sum(r.n for r in result.requests) == 300


def test_deterministic_renders_and_serialises(gap_result):
    real, fake, frame = planted()
    again = coverage_gaps(real, fake, frame, recipe="glyphs")
    assert again.requests == gap_result.requests
    pd.testing.assert_frame_equal(again.tables["uncovered"], gap_result.tables["uncovered"])
    assert "<svg" in gap_result.to_html()
    data = json.loads(json.dumps(gap_result.to_dict()))
    assert GenerationRequest.from_dict(data["requests"][0]) == gap_result.requests[0]


def test_rejects_bad_input():
    real, fake, frame = planted(n_real=100, n_fake=100)
    with pytest.raises(AnalysisError, match="real_frame has 99 rows"):
        coverage_gaps(real, fake, frame.iloc[:99])
    with pytest.raises(AnalysisError, match="features"):
        coverage_gaps(real, fake[:, :1], frame)
    with pytest.raises(AnalysisError, match="radius"):
        coverage_gaps(real, fake, frame, radius=-1.0)
    with pytest.raises(AnalysisError, match="nope"):
        coverage_gaps(real, fake, frame, attributes=["nope"])


def test_only_the_largest_regions_become_requests_the_rest_is_counted():
    rng = np.random.default_rng(4)
    real = rng.standard_normal((1500, 12)).astype(np.float32)
    fake = rng.standard_normal((300, 12)).astype(np.float32)  # too few: scattered holes
    frame = pd.DataFrame({"sample_id": [f"r{i}" for i in range(1500)],
                          "label": rng.choice(["a", "b"], 1500)})
    capped = coverage_gaps(real, fake, frame, min_region=2, max_regions=2)
    wide = coverage_gaps(real, fake, frame, min_region=2, max_regions=1000)
    assert wide.summary["n_regions"] > 2 and capped.summary["n_regions"] == 2
    assert len([f for f in capped.findings if f.kind == "coverage_gap"]) == 2
    listed = capped.tables["regions"]["n_real"].sum()
    scattered = capped.finding("scattered_gaps")
    assert scattered is not None and capped.summary["n_scattered"] == scattered.details["samples"]
    assert listed + scattered.details["samples"] == capped.summary["n_uncovered"]
    # The capped requests are the wide run's first ones: the same largest regions.
    assert capped.requests == wide.requests[:len(capped.requests)]
    assert len(capped.requests) < len(wide.requests)


def test_result_round_trips_with_requests_distances_and_figure(gap_result, tmp_path):
    brief = gap_result.to_dict()
    assert "nearest_synthetic_distance" not in brief  # the report's JSON stays as it was
    again = CoverageResult.from_dict(json.loads(json.dumps(brief)))
    assert isinstance(again, CoverageResult) and again.requests == gap_result.requests
    assert again.to_dict() == brief
    full = gap_result.to_dict(max_rows=None)
    assert full["plots"] == ["curator.coverage:plot_nearest_synthetic"]
    loaded = CoverageResult.load(gap_result.save(tmp_path / "coverage.json"))
    assert loaded.to_dict(max_rows=None) == full
    np.testing.assert_array_equal(loaded.nearest_synthetic_distance,
                                  gap_result.nearest_synthetic_distance)
    assert [figure_svg(f) for f in loaded.figures()] == [figure_svg(f) for f in
                                                         gap_result.figures()]
    assert list(again.to_frame().columns) == list(gap_result.to_frame().columns)
    assert "<svg" in loaded._repr_html_()
