"""Kill -9 at random points during ingest, generate, embed and export: the re-run completes
with no duplicate, missing or corrupt rows, and the result equals an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from curator import init_workspace, open_workspace
from curator.doctor import check_workspace

KILLS = 3  # interrupted attempts per command, at seeded random moments


def curator(*args: str) -> list[str]:
    return [sys.executable, "-m", "curator.cli", *args]


def _marked(mark: str) -> list[int]:
    """Live processes whose environment carries ``mark`` (killed runs and their workers)."""
    found = []
    for env in Path("/proc").glob("[0-9]*/environ"):
        try:
            if mark.encode() in env.read_bytes():
                found.append(int(env.parent.name))
        except OSError:  # gone, or not ours to read
            continue
    return found


def killed_then_completed(args: list[str], rng: np.random.Generator, lo: float, hi: float
                          ) -> None:
    mark = f"CURATOR_KILLED_RUN={uuid.uuid4().hex}"
    env = {**os.environ, mark.split("=")[0]: mark.split("=")[1]}
    for _ in range(KILLS):
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env=env)
        time.sleep(float(rng.uniform(lo, hi)))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    # A killed run's pool workers leave on their own, not linger as orphans.
    deadline = time.monotonic() + 10
    while _marked(mark) and time.monotonic() < deadline:
        time.sleep(0.25)
    assert not _marked(mark), f"orphaned workers of a killed run: {_marked(mark)}"
    done = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def rows(ws) -> pd.DataFrame:
    frame = ws.to_pandas().drop(columns=["ingested_at"])
    return frame.sort_values("sample_id").reset_index(drop=True)


def test_kill_9_during_ingest_generate_and_embed_then_rerun(tmp_path):
    rng = np.random.default_rng(11)
    ws = init_workspace(tmp_path / "killed")
    clean = init_workspace(tmp_path / "clean")
    w = ["-w", str(ws.root)]
    # Killed runs use a pool of two workers; the clean run one process: the result must
    # not depend on either.
    steps = [(["ingest", "digits"], []),
             (["generate", "objects", "--n", "120", "--size", "32", "--seed", "0"],
              ["--workers", "2"]),
             (["embed", "pixels", "--size", "8", "--components", "8"], ["--workers", "2"])]
    for step, pool in steps:
        killed_then_completed(curator(*step, *pool, *w), rng, 0.8, 3.5)
        one = ["--workers", "1"] if pool else []
        ok = subprocess.run(curator(*step, *one, "-w", str(clean.root)), capture_output=True,
                            text=True, timeout=300)
        assert ok.returncode == 0, ok.stderr
    ws, clean = open_workspace(ws.root), open_workspace(clean.root)
    got = rows(ws)
    assert got.sample_id.is_unique and len(got) == 1797 + 120
    pd.testing.assert_frame_equal(got, rows(clean))  # as if never interrupted
    from curator.embed import load_embedding

    emb = load_embedding(ws, "pixels")
    assert len(set(emb.ids.tolist())) == len(emb.ids) == len(got)
    np.testing.assert_array_equal(
        emb.vectors[np.argsort(emb.ids)],
        load_embedding(clean, "pixels").vectors[np.argsort(load_embedding(clean,
                                                                          "pixels").ids)])
    report = check_workspace(ws, deep=True)
    assert report.healthy, str(report)


@pytest.mark.parametrize("seed", [0, 1])
def test_kill_9_during_export_leaves_no_partial_folder(report_ws, tmp_path, seed):
    import shutil

    from curator.export import read_export
    from curator.manifest import write_manifest

    shutil.copytree(report_ws.root, tmp_path / "ws")
    ws = open_workspace(tmp_path / "ws")
    m = write_manifest(ws, "all", ws.to_pandas(["sample_id"]).sample_id)
    out = tmp_path / "out"
    args = curator("export", "all", "--format", "coco", "--out", str(out), "-w", str(ws.root))
    rng = np.random.default_rng(seed)
    for _ in range(KILLS):
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(float(rng.uniform(0.5, 2.5)))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # Either the export is complete and verified, or it is not there at all.
        if out.exists():
            assert set(read_export("coco", out)) == set(m.frame.sample_id)
            shutil.rmtree(out)
    done = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "verified" in done.stdout, done.stdout + done.stderr
    assert set(read_export("coco", out)) == set(m.frame.sample_id)
