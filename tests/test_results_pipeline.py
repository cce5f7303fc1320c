"""The pipeline stages' result objects (ingest, generate, sensor match, embed, export,
doctor, workspace info) round-trip through ``to_dict``/``from_dict`` and ``save``/``load``,
and show as a table and as HTML."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from curator.doctor import DoctorReport
from curator.embed import EmbedSummary
from curator.export import ExportSummary
from curator.ingest.engine import IngestSummary, Reject
from curator.store import WorkspaceInfo
from generators.run import GenerateSummary
from generators.sensor_match import SensorEstimate

RESULTS = [
    IngestSummary("folder", "/data/src", "/ws", added=3, skipped_existing=1,
                  rejects=[Reject("a.txt", "not_an_image", "cannot decode")], shards_written=1,
                  seconds=0.5, config_hash="abc"),
    GenerateSummary("digits3d", "efd08ef3ba2eb0a0", 1, "none", 4, 0, rendered=4, written=4,
                    workers=2, seconds=1.25),
    SensorEstimate(pd.DataFrame({"noise_std": [0.01, 0.02], "blur_sigma_px": [0.5, 0.75],
                                 "width": [64, 64], "height": [48, 48]}),
                   {"noise_std": [0.01, 0.02], "blur_sigma_px": [0.5, 0.75]}, 0.5),
    EmbedSummary("pixels", "pixels", "0123abcd", 64, 10, 12, True, 0.25),
    ExportSummary("folder", Path("/ws/exports/x"), 12, 13, True, 0.5, {"no image": 1}),
    DoctorReport(Path("/ws"), checked=7, problems=[{"problem": "unreadable", "path": "p",
                                                    "detail": "truncated"}],
                 quarantined=["p"], temp_files=1, duplicate_ids=2),
    WorkspaceInfo(Path("/ws"), 12, 1, 2, 4096,
                  pd.DataFrame({"source": ["real"], "label": ["3"], "split": ["train"],
                                "count": [12]})),
]


@pytest.mark.parametrize("result", RESULTS, ids=lambda r: type(r).__name__)
def test_results_round_trip_and_render(result, tmp_path):
    again = type(result).from_dict(result.to_dict())
    assert type(again) is type(result) and again.to_dict() == result.to_dict()
    assert str(again) == str(result)
    loaded = type(result).load(result.save(tmp_path / "result.json"))
    assert loaded.to_dict() == result.to_dict()
    assert isinstance(result.to_frame(), pd.DataFrame) and result._repr_html_()
