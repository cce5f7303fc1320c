"""One executor interface: this process, a local process pool, or Ray; the same seed gives
the same rows whichever runs the work."""

from __future__ import annotations

import pytest

from curator.executors import (
    ExecutorError,
    ProcessExecutor,
    SerialExecutor,
    resolve_executor,
)


def _square(x: int) -> int:
    return x * x


def test_local_executors_keep_item_order_and_reject_bad_settings(monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert isinstance(resolve_executor(None, 1), SerialExecutor)
    pool = resolve_executor("local", 2)
    assert isinstance(pool, ProcessExecutor) and pool.workers == 2
    assert list(pool.map(_square, range(50))) == [i * i for i in range(50)]
    pool.shutdown()
    with pytest.raises(ExecutorError, match="executor must be one of"):
        resolve_executor("dask")
    with pytest.raises(ExecutorError, match="positive whole number"):
        resolve_executor("local", 0)


def test_a_pool_pulls_items_lazily_and_stops_when_the_consumer_does(monkeypatch):
    """Items are read a window ahead of the results (embedding streams a workspace's
    images through here: pulling them all first would load it into memory)."""
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    pulled = []

    def items():
        for i in range(200):
            pulled.append(i)
            yield i

    pool = resolve_executor("local", 2)
    results = pool.map(_square, items())
    assert next(results) == 0
    assert len(pulled) <= 2 * 2 + 1
    assert [next(results) for _ in range(3)] == [1, 4, 9]
    results.close()  # the consumer stops: nothing more is pulled
    assert len(pulled) <= 4 + 2 * 2 + 1
    assert list(pool.map(_square, range(10))) == [i * i for i in range(10)]
    pool.shutdown()


def _sleep(seconds: float) -> float:
    import time

    time.sleep(seconds)
    return seconds


def test_kill_pools_stops_busy_workers_without_waiting(monkeypatch):
    """After a failure or Ctrl-C the run stops at once: busy workers are terminated, not
    waited for, and the next run gets a fresh pool."""
    import time

    from curator.executors import kill_pools

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    pool = resolve_executor("local", 2)
    assert list(pool.map(_square, range(4))) == [0, 1, 4, 9]  # the pool is up
    workers = list(pool.pool()._processes.values())
    busy = [pool.pool().submit(_sleep, 30.0) for _ in range(3)]
    time.sleep(1.0)  # both workers are now sleeping in a task, one task queued
    assert sum(f.running() for f in busy) >= 1
    start = time.monotonic()
    kill_pools()
    while any(w.is_alive() for w in workers) and time.monotonic() - start < 10:
        time.sleep(0.1)  # the pool's own thread may be the one reaping them
    assert time.monotonic() - start < 10  # not the 30 s the tasks would take
    assert not any(w.is_alive() for w in workers)
    assert list(resolve_executor("local", 2).map(_square, range(3))) == [0, 1, 4]
    kill_pools()


def _rows(ws):
    frame = ws.to_pandas().drop(columns=["ingested_at"])
    return frame.sort_values("sample_id").reset_index(drop=True)


def test_ray_renders_the_same_bytes_as_the_local_pool(tmp_path, monkeypatch):
    ray = pytest.importorskip("ray")
    import pandas as pd

    from curator import init_workspace
    from generators.recipe import load_recipe
    from generators.run import generate

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    recipe = load_recipe("objects", {"size": 32})
    local = init_workspace(tmp_path / "local")
    generate(local, recipe, 12, seed=3, workers=2, chunk_size=3)
    on_ray = init_workspace(tmp_path / "ray")
    try:
        summary = generate(on_ray, recipe, 12, seed=3, workers=2, chunk_size=3,
                           executor="ray")
    finally:
        ray.shutdown()
    assert summary.written == 12
    pd.testing.assert_frame_equal(_rows(local), _rows(on_ray))


def test_cli_generate_takes_the_executor_flag(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from curator import init_workspace
    from curator.cli import app

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    ws = init_workspace(tmp_path / "ws")
    out = CliRunner().invoke(app, ["generate", "digits3d", "--n", "4", "--executor", "dask",
                                   "-w", str(ws.root)])
    assert out.exit_code == 2 and "executor must be one of local, ray" in out.output


def test_embedding_on_a_pool_and_on_ray_gives_the_same_vectors(tmp_path, monkeypatch):
    import numpy as np

    from curator import init_workspace
    from curator.embed import PixelEmbedder, embed_workspace, load_embedding
    from curator.ingest import ingest, read_digits

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    out = {}
    runs = {"here": {}, "pool": {"workers": 2}}
    if __import__("importlib").util.find_spec("ray"):
        runs["ray"] = {"executor": "ray", "workers": 2}
    for name, kw in runs.items():
        ws = init_workspace(tmp_path / name)
        ingest(ws, read_digits(300))
        summary = embed_workspace(ws, PixelEmbedder(size=8, n_components=8), name="pixels",
                                  batch_size=64, **kw)
        assert summary.n_new == 300
        emb = load_embedding(ws, "pixels")
        out[name] = emb.vectors[np.argsort(emb.ids)]
    if "ray" in runs:
        import ray

        ray.shutdown()
    for name in runs:
        np.testing.assert_array_equal(out[name], out["here"])


def test_a_kept_pool_never_reuses_another_fit_of_the_same_config(tmp_path, monkeypatch):
    """Workers cache the embedder per process; a second fit with the same parameters
    (another seed) must not be transformed with the first fit's arrays."""
    import numpy as np

    from curator import init_workspace
    from curator.embed import PixelEmbedder, embed_workspace, load_embedding
    from curator.ingest import ingest, read_digits

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    ws = init_workspace(tmp_path / "ws")
    ingest(ws, read_digits(200))
    out = {}
    for seed in (0, 1):
        for workers in (2, 1):
            name = f"s{seed}w{workers}"
            embed_workspace(ws, PixelEmbedder(size=8, n_components=4), name=name,
                            random_state=seed, fit_samples=50, batch_size=50,
                            workers=workers)
            emb = load_embedding(ws, name)
            out[name] = emb.vectors[np.argsort(emb.ids)]
    np.testing.assert_array_equal(out["s0w2"], out["s0w1"])
    np.testing.assert_array_equal(out["s1w2"], out["s1w1"])
    assert not np.array_equal(out["s0w1"], out["s1w1"])  # the two fits differ
