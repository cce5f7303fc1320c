"""Result objects reload: to_dict/from_dict, save/load, plots by name, no foreign imports."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest

from curator.results import (
    AnalysisResult,
    Finding,
    ResultMixin,
    load_result,
    new_figure,
    resolve_name,
    save_result,
)


@pytest.fixture(autouse=True)
def trust_this_module(monkeypatch):
    """Results name their classes and plots; only trusted packages resolve (here: this one)."""
    import curator.results

    monkeypatch.setattr(curator.results, "_TRUSTED_MODULES",
                        (*curator.results._TRUSTED_MODULES, __name__.split(".")[0]))


def plot_counts(result: AnalysisResult):
    fig, ax = new_figure()
    ax.bar(range(len(result.to_frame())), result.to_frame()["n"])
    return fig


@dataclass
class _Made(ResultMixin):
    name: str
    counts: pd.DataFrame
    vectors: np.ndarray
    nested: dict = field(default_factory=dict)


def _analysis() -> AnalysisResult:
    table = pd.DataFrame({"label": ["a", "b", None], "n": [3, 1, 0], "share": [0.75, 0.25,
                                                                              np.nan]})
    return AnalysisResult(
        "balance", summary={"imbalance": 3.0, "worst": "b", "missing": None},
        tables={"counts": table, "empty": pd.DataFrame({"x": []})},
        findings=[Finding("imbalance", "label", "b is rare", "alert", {"ratio": 3.0})],
        params={"by": ["label"], "k": 5}, notes=["a note"], plot_fns=[plot_counts])


def test_analysis_result_round_trips_with_its_plots():
    result = _analysis()
    data = result.to_dict(max_rows=None)
    again = AnalysisResult.from_dict(json.loads(json.dumps(data)))
    assert again.to_dict(max_rows=None) == data
    assert again.plot_fns == [plot_counts]
    assert again.finding("imbalance", "label").details == {"ratio": 3.0}
    assert len(again.figures()) == 1
    assert again.to_html(figures=False) == result.to_html(figures=False)


def test_capped_dict_keeps_its_old_shape():
    """report.json (``to_dict()`` with the default cap) names no plots: unchanged bytes."""
    data = _analysis().to_dict()
    assert "plots" not in data
    assert set(data) == {"title", "summary", "findings", "params", "notes", "tables"}


def test_save_and_load_through_a_file(tmp_path):
    result = _analysis()
    path = result.save(tmp_path / "balance.json")
    loaded = AnalysisResult.load(path)
    assert loaded.to_dict(max_rows=None) == result.to_dict(max_rows=None)
    assert load_result(path).title == "balance"
    assert not list(tmp_path.glob(".tmp-*"))


def test_dataclass_results_round_trip_frames_and_arrays(tmp_path):
    made = _Made("x", pd.DataFrame({"a": [1, 2], "b": ["u", "v"]}),
                 np.arange(6, dtype=np.float32).reshape(2, 3), {"k": [1, 2]})
    again = _Made.from_dict(json.loads(json.dumps(made.to_dict())))
    pd.testing.assert_frame_equal(again.counts, made.counts)
    assert again.vectors.dtype == np.float32 and again.vectors.shape == (2, 3)
    np.testing.assert_array_equal(again.vectors, made.vectors)
    assert again.nested == {"k": [1, 2]}
    assert "<h4>_Made</h4>" in again._repr_html_()
    save_result(made, tmp_path / "made.json")
    with pytest.raises(TypeError, match="not a AnalysisResult"):
        AnalysisResult.load(tmp_path / "made.json")


@pytest.mark.parametrize("name", ["os:system", "subprocess:run", "builtins:eval", "curator"])
def test_saved_results_never_import_foreign_code(name, tmp_path):
    with pytest.raises(ValueError, match="not a curator class or function"):
        resolve_name(name)
    path = tmp_path / "evil.json"
    path.write_text(json.dumps({"type": name, "data": {}}))
    with pytest.raises(ValueError):
        load_result(path)


@pytest.mark.parametrize("name", ["curator.paths:os.system", "curator.results:pd.DataFrame",
                                  "curator.results:np.load", "curator.results:json.loads",
                                  "curator.results:jsonable.__globals__"])
def test_names_cannot_reach_through_a_curator_module(name, tmp_path):
    """A name must be defined where it says: no path through a module's own imports."""
    marker = tmp_path / "PWNED"
    with pytest.raises(ValueError, match="not a curator class or function"):
        resolve_name(name)
    nested = {"title": "x", "params": {"evil": {"__result__": name,
                                                "data": {"command": f"touch {marker}"}}}}
    path = tmp_path / "evil.json"
    path.write_text(json.dumps({"type": "curator.results:AnalysisResult", "data": nested}))
    with pytest.raises(ValueError):
        AnalysisResult.load(path)
    path.write_text(json.dumps({"type": name, "data": {}}))
    with pytest.raises(ValueError):
        load_result(path)
    assert not marker.exists()


def test_plots_must_name_functions(tmp_path):
    data = _analysis().to_dict(max_rows=None)
    data["plots"] = ["curator.results:AnalysisResult"]
    with pytest.raises(ValueError, match="plots must name functions"):
        AnalysisResult.from_dict(data)


@pytest.mark.parametrize("text", ["", "{not json", json.dumps({"data": {}}),
                                  json.dumps({"type": "curator.results:AnalysisResult",
                                              "data": {"no": "title"}}),
                                  json.dumps({"type": "curator.nothing_here:X", "data": {}})])
def test_damaged_files_give_one_clear_error(text, tmp_path):
    from curator.errors import CuratorError

    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(CuratorError, match="bad.json"):
        load_result(path)


def test_complete_form_keeps_non_finite_values_empty_columns_and_dtypes():
    table = pd.DataFrame({"d": [np.inf, 1.0, np.nan], "k": np.array([1, 2, 3], np.int32),
                          "s": ["a", None, "c"], "o": [np.nan, np.nan, np.nan]})
    empty = pd.DataFrame({"sample_id": pd.Series([], dtype=object),
                          "distance": pd.Series([], dtype=float)})
    result = AnalysisResult("t", summary={"worst": float("-inf")},
                            tables={"main": table, "none": empty},
                            findings=[Finding("k", "s", "m", details={"d": np.inf})])
    again = AnalysisResult.from_dict(json.loads(json.dumps(result.to_dict(max_rows=None))))
    pd.testing.assert_frame_equal(again.tables["main"], table)
    pd.testing.assert_frame_equal(again.tables["none"], empty)
    assert again.summary == {"worst": float("-inf")}
    assert again.findings[0].details == {"d": np.inf}
    assert again.to_html(figures=False) == result.to_html(figures=False)
    strict = json.dumps(result.to_dict(max_rows=None), allow_nan=False)  # plain JSON
    assert "Infinity" not in strict
