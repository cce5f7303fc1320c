"""An ingest killed with SIGKILL part-way re-runs to exactly the full set: no row lost, none
twice, no temp file left behind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import kill_after_shards

from curator import init_workspace, open_workspace

BATCH_ROWS = 5


def _command(source: Path, ws: Path) -> list[str]:
    return [sys.executable, "-m", "curator.cli", "ingest", "folder", str(source), "-w", str(ws),
            "--batch-rows", str(BATCH_ROWS)]


def _start_and_kill(source: Path, ws: Path, after_shards: int, log: Path) -> None:
    """Start an ingest and SIGKILL it once ``after_shards`` shards are committed."""
    with open(log, "ab") as err:
        proc = subprocess.Popen(_command(source, ws), stdout=subprocess.DEVNULL, stderr=err)
    kill_after_shards(proc, ws, after_shards, timeout_s=60)


@pytest.mark.parametrize("kill_points", [(2,), (120,), (2, 60)],
                         ids=["early", "midway", "twice"])
def test_a_killed_ingest_reruns_to_exactly_the_full_set(tmp_path, many_images, kill_points):
    source, expected = many_images
    ws = init_workspace(tmp_path / "ws").root
    log = tmp_path / "stderr.log"

    for after_shards in kill_points:
        _start_and_kill(source, ws, after_shards, log)
        landed = open_workspace(ws).samples.count()
        assert after_shards * BATCH_ROWS <= landed < len(expected)

    done = subprocess.run(_command(source, ws), capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr
    assert f"added {len(expected) - landed} row(s)" in done.stdout
    assert f"skipped {landed} already in the workspace" in done.stdout
    table = open_workspace(ws).to_table(["sample_id"])
    ids = table["sample_id"].to_pylist()
    assert set(ids) == expected
    assert len(ids) == len(set(ids)) == len(expected)
    assert not [p for p in ws.rglob(".tmp-*")]
    assert open_workspace(ws).rejects.count() == 0


def test_two_ingests_at_once_lose_no_rows_and_write_none_twice(tmp_path, many_images):
    """Two CLI ingests run concurrently into one workspace: one of the whole tree, one of a
    class folder that the first also holds. Writers take the workspace lock in turn and
    skip ids already written, so the result is exactly the union."""
    source, expected = many_images
    ws = init_workspace(tmp_path / "ws").root
    procs = [subprocess.Popen(_command(path, ws), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for path in (source, source / "b")]
    outs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outs]
    ids = open_workspace(ws).to_table(["sample_id"])["sample_id"].to_pylist()
    assert len(ids) == len(set(ids)) == len(expected)
    assert set(ids) == expected
    shards = [p.name for p in open_workspace(ws).samples.shards()]
    assert len({n.split("-")[1] for n in shards}) == len(shards)  # no sequence number twice
