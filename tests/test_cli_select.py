"""The analysis commands end to end: embed, embeddings, map, index, neighbors, select, subsets."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from typer.testing import CliRunner

from curator import init_workspace, open_workspace
from curator.cli import app
from curator.embed import load_embedding
from curator.hashing import text_id
from curator.ingest import ingest, read_digits
from curator.subsets import load_subset

runner = CliRunner()


def _invoke(*args, code: int = 0):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result


@pytest.fixture(scope="module")
def mixed_ws(tmp_path_factory):
    """200 real digits plus a 'synthetic' copy of each (brightness-shifted), with attributes."""
    root = tmp_path_factory.mktemp("cli-select") / "ws"
    ws = init_workspace(root)
    ingest(ws, read_digits(200))
    real = ws.to_table(["image_bytes", "label", "split", "width", "height", "mode"])
    n = real.num_rows
    rng = np.random.default_rng(0)
    syn = real.append_column("sample_id", pa.array([text_id("syn", str(i)) for i in range(n)]))
    syn = syn.append_column("source", pa.array(["synthetic"] * n))
    syn = syn.set_column(syn.schema.get_field_index("split"), "split", pa.array(["train"] * n))
    for name, values in (("generator", ["test.synthetic"] * n), ("generator_version", ["1"] * n),
                         ("config_hash", ["c"] * n),
                         ("pose_yaw_deg", rng.uniform(-90, 90, n)),
                         ("color_temp_k", rng.uniform(2500, 7500, n))):
        syn = syn.append_column(name, pa.array(values))
    ws.append_samples(syn)
    return root


def test_embed_list_map_index_neighbors(mixed_ws):
    out = _invoke("embed", "pixels", "--size", "8", "--components", "10", "-w", mixed_ws).output
    assert "fitted and embedded 400 new sample(s)" in out
    assert "embedded 0 new" in _invoke("embed", "pixels", "--size", "8", "--components", "10",
                                       "-w", mixed_ws).output
    err = _invoke("embed", "pixels", "--size", "4", "-w", mixed_ws, code=2).output
    assert "error:" in err and "--refit" in err
    out = _invoke("embed", "attributes", "--cyclic", "pose_yaw_deg", "--where",
                  "source == 'synthetic'", "-w", mixed_ws).output
    assert "200 new sample(s)" in out
    listing = _invoke("embeddings", mixed_ws).output
    assert "pixels" in listing and "attributes" in listing
    assert "400" in listing and "200" in listing
    assert "map of pixels: 400 points" in _invoke("map", "pixels", "--method", "pca", "-w",
                                                  mixed_ws).output
    out = _invoke("index", "pixels", "--index", "IVF", "-w", mixed_ws).output
    assert "recall@10" in out and "IVF" in out
    ws = open_workspace(mixed_ws)
    some = ws.to_pandas(["sample_id"], [("source", "==", "real")]).sample_id.iloc[0]
    out = _invoke("neighbors", some, "-e", "pixels", "-k", "3", "-w", mixed_ws).output
    assert "nearest real" in out and "nearest synthetic" in out


def test_select_commands_save_subsets_the_core_reads_back(mixed_ws):
    _invoke("embed", "pixels", "--size", "8", "--components", "10", "-w", mixed_ws)
    ws = open_workspace(mixed_ws)

    out = _invoke("select", "mix", "half", "-e", "pixels", "--ratio", "2:1", "--by", "label",
                  "--where", "split == 'train'", "-w", mixed_ws).output
    assert "saved subset 'half'" in out
    sub = load_subset(ws, "half")
    kinds = sub.frame.groupby("kind").size()
    assert abs(kinds["synthetic"] * 2 - kinds["real"]) <= len(sub.meta["summary"])
    assert sub.meta["method"] == "mix" and sub.meta["by"] == "label"

    out = _invoke("select", "coverage", "cover", "-e", "pixels", "-m", "25", "-w",
                  mixed_ws).output
    assert "radius" in out and len(load_subset(ws, "cover").ids) == 25
    _invoke("select", "coverage", "cover", "-e", "pixels", "-m", "5", "-w", mixed_ws, code=2)

    out = _invoke("select", "dedup", "dedup", "-e", "pixels", "--threshold", "0", "-w",
                  mixed_ws).output
    assert "dedup:" in out

    out = _invoke("select", "nearest", "side", "--target", "pose_yaw_deg=30..60,color_temp_k=3200",
                  "--k", "6", "--where", "source == 'synthetic'", "-w", mixed_ws).output
    side = load_subset(ws, "side")
    assert len(side.ids) == 6
    rows = ws.to_pandas(["sample_id", "pose_yaw_deg", "color_temp_k"],
                        pc.field("sample_id").isin(side.ids))
    yaw = ws.to_pandas(["pose_yaw_deg"], [("source", "==", "synthetic")]).pose_yaw_deg
    # The picks are far closer to the requested yaw band than the population is.
    assert rows.pose_yaw_deg.between(0, 90).all()
    assert (rows.pose_yaw_deg.sub(45).abs().mean() < yaw.sub(45).abs().mean() / 2)

    target = load_embedding(ws, "pixels").ids[0]
    _invoke("select", "nearest", "like", "--target-id", target, "-e", "pixels", "--k", "4",
            "-w", mixed_ws)
    assert target in load_subset(ws, "like").ids  # a sample is its own nearest

    listing = _invoke("subsets", "list", "-w", mixed_ws).output
    for name in ("half", "cover", "dedup", "side", "like"):
        assert name in listing
    assert "coverage" in _invoke("subsets", "show", "cover", "-w", mixed_ws).output


@pytest.mark.parametrize("args, message", [
    (("embed", "pixel"), "unknown embedding backend"),
    (("embed", "pixels", "--where", "label = 3"), "bad --where"),
    (("select", "mix", "m", "-e", "pixels", "--ratio", "1-1"), "bad --ratio"),
    (("select", "mix", "m", "-e", "nope"), "no embedding named 'nope'"),
    (("select", "nearest", "n", "--k", "3"), "--target"),
    (("select", "nearest", "n", "--target", "yaw"), "bad target"),
    (("subsets", "show", "missing"), "no subset named"),
    (("select", "mix", "m", "-e", "pixels", "--by", "nope"), "unknown column"),
])
def test_bad_requests_exit_2_with_a_message(mixed_ws, args, message):
    _invoke("embed", "pixels", "--size", "8", "--components", "10", "-w", mixed_ws)
    out = _invoke(*args, "-w", mixed_ws, code=2).output
    assert "error:" in out and message in out
