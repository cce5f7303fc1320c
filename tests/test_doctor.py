"""`curator doctor`: a truncated shard is found and named, quarantined on --repair, and the
rest of the workspace reads again; a re-ingest restores the lost rows without duplicates."""

from __future__ import annotations

import os
import time

import pytest
from typer.testing import CliRunner

from curator import init_workspace
from curator.cli import app
from curator.errors import WorkspaceError
from curator.ingest import ingest, read_digits


def test_a_truncated_shard_is_named_quarantined_and_rewritten(tmp_path):
    ws = init_workspace(tmp_path / "ws")
    ingest(ws, read_digits(40))
    ingest(ws, read_digits(80))  # a second shard: the 40 new digits
    first, second = ws.samples.shards()
    data = second.read_bytes()
    second.write_bytes(data[: len(data) // 2])  # a crash mid-copy, say
    with pytest.raises(WorkspaceError, match=f"shard .*{second.name} is unreadable"):
        ws.to_pandas(["sample_id"])
    run = CliRunner().invoke
    check = run(app, ["doctor", str(ws.root)])
    assert check.exit_code == 1 and "unreadable Parquet" in check.output
    assert second.name in check.output and "--repair" in check.output
    fixed = run(app, ["doctor", str(ws.root), "--repair"])
    assert fixed.exit_code == 0 and "quarantined" in fixed.output
    assert (ws.root / "quarantine" / "samples" / second.name).is_file()
    assert len(ws.to_pandas(["sample_id"])) == 40  # the rest reads again
    ingest(ws, read_digits(80))  # the lost rows come back, once
    ids = ws.to_pandas(["sample_id"]).sample_id
    assert len(ids) == 80 and ids.is_unique
    again = run(app, ["doctor", str(ws.root), "--deep"])
    assert again.exit_code == 0 and again.output.strip().endswith("healthy")


def test_doctor_finds_broken_metadata_and_leftover_temp_files(tmp_path):
    ws = init_workspace(tmp_path / "ws")
    ingest(ws, read_digits(10))
    (ws.root / "reports").mkdir(exist_ok=True)
    (ws.root / "reports" / "report.json").write_text("{not json")
    old = ws.root / "samples" / ".tmp-1234-part.parquet"
    old.write_bytes(b"half")
    os.utime(old, (time.time() - 3600, time.time() - 3600))  # an hour-old leftover
    # A write still running elsewhere (an embedding shard being written, an export being
    # staged): too recent to be a leftover, and not part of the workspace yet.
    running = ws.root / "embeddings" / "pixels" / "vectors" / ".tmp-9-part.parquet"
    running.parent.mkdir(parents=True)
    running.write_bytes(b"in flight")
    staged = ws.root / "exports" / ".tmp-export-ab12" / "data.parquet"
    staged.parent.mkdir(parents=True)
    staged.write_bytes(b"half an export")
    # An export killed an hour ago left its staging folder: a leftover, as a whole.
    abandoned = ws.root / "exports" / ".tmp-export-cd34"
    (abandoned / "images").mkdir(parents=True)
    (abandoned / "images" / "a.png").write_bytes(b"png")
    for p in (abandoned / "images" / "a.png", abandoned / "images", abandoned):
        os.utime(p, (time.time() - 3600, time.time() - 3600))
    out = CliRunner().invoke(app, ["doctor", str(ws.root)])
    assert out.exit_code == 1 and "unreadable JSON: reports/report.json" in out.output
    assert "2 leftover temp file(s) or folder(s)" in out.output
    assert "2 recent temp file(s) or folder(s) left alone" in out.output
    assert "data.parquet" not in out.output  # inside a staging folder: not checked
    fixed = CliRunner().invoke(app, ["doctor", str(ws.root), "--repair"])
    assert fixed.exit_code == 0
    assert not old.exists() and not abandoned.exists()
    assert running.is_file() and staged.is_file()
    assert (ws.root / "quarantine" / "reports" / "report.json").is_file()
