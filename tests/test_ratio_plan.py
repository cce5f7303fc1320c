"""Planning a mix from cached statistics: the same counts as the mix selector, predictions
that move the right way, and a manifest that is content-addressed and tamper-evident."""

from __future__ import annotations

import numpy as np
import pytest

from curator.manifest import ManifestError, read_manifest, write_manifest
from curator.ratio_plan import mix_statistics, plan_mix
from curator.select import select_mix


def data(seed=0, n=900):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6)).astype(np.float32)
    strata = np.array(["a", "b", "c"])[rng.integers(0, 3, n)]
    strata[:40] = "d"  # a small stratum: short of synthetic at high ratios
    real = rng.random(n) < 0.4
    real[:40] = np.arange(40) < 30
    return X, strata, real, ~real


@pytest.mark.parametrize("ratio, sizes", [(1.0, None), (3.0, None), ({"*": 0.5, "b": 2.0},
                                                                    {"a": 60})])
def test_plan_counts_equal_what_select_mix_takes(ratio, sizes):
    X, strata, real, syn = data()
    plan = plan_mix(mix_statistics(X, strata, real, syn), ratio, n_total=sizes)
    sel = select_mix(X, ids=np.arange(len(X)).astype(str), is_real=real, is_synthetic=syn,
                     strata=strata, synthetic_per_real=ratio, n_total=sizes)
    got = sel.summary.set_index("stratum")
    for row in plan.iloc[:-1].itertuples():
        assert row.real == got.loc[row.stratum, "selected_real"]
        assert row.synthetic == got.loc[row.stratum, "selected_synthetic"]
        assert row.feasible == (got.loc[row.stratum, "note"] == "")
    total = plan.iloc[-1]
    assert total.real == sel.stats["real"] and total.synthetic == sel.stats["synthetic"]


def test_more_synthetic_covers_more_and_reaches_further():
    X, strata, real, syn = data()
    stats = mix_statistics(X, strata, real, syn)
    plans = [plan_mix(stats, r).iloc[-1] for r in (0.0, 0.5, 1.0, 1.5)]
    cover = [p.coverage for p in plans]
    dist = [p.synthetic_distance for p in plans[1:]]
    assert cover[0] == 0 and cover == sorted(cover) and cover[-1] > cover[1]
    assert dist == sorted(dist)  # the closest synthetic samples are taken first
    short = plan_mix(stats, 5.0).set_index("stratum").loc["d"]
    assert not short.feasible and "only 10 synthetic" in short.note


def test_manifest_is_content_addressed_and_tamper_evident(report_ws, tmp_path):
    import shutil

    from curator import open_workspace

    shutil.copytree(report_ws.root, tmp_path / "ws")
    ws = open_workspace(tmp_path / "ws")
    ids = ws.to_pandas(["sample_id"]).sample_id[:40].tolist()
    a = write_manifest(ws, "m", ids, config={"ratio": 1})
    b = write_manifest(ws, "m", list(reversed(ids)), config={"ratio": 1})
    assert a.hash == b.hash and a.path == b.path  # same curation, same file
    c = write_manifest(ws, "m", ids[:-1], config={"ratio": 1})
    assert c.hash != a.hash and len(list((ws.root / "manifests").glob("m-*"))) == 2
    back = read_manifest(a.path)
    assert back.frame.sample_id.tolist() == sorted(ids) and back.header["rows"] == 40
    assert set(back.frame.columns) >= {"source", "label", "split", "image_uri", "weight"}
    import pyarrow.parquet as pq

    table = pq.read_table(a.path)  # someone edits a weight by hand
    changed = table.set_column(table.schema.get_field_index("weight"), "weight",
                               [[2.0] * table.num_rows])
    pq.write_table(changed.replace_schema_metadata(table.schema.metadata), a.path)
    with pytest.raises(ManifestError, match="does not match its hash"):
        read_manifest(a.path)
    with pytest.raises(ManifestError, match="not samples|duplicate"):
        write_manifest(ws, "m", ids + ids[:1])


def test_a_stratum_with_real_samples_only_plans_without_synthetic():
    X, strata, real, syn = data()
    strata = strata.astype(object)
    strata[real & (strata == "a")] = "real-only"  # no synthetic sample shares this key
    plan = plan_mix(mix_statistics(X, strata, real, syn), 1.0).set_index("stratum")
    row = plan.loc["real-only"]
    assert row.synthetic == 0 and row.coverage == 0 and "only 0 synthetic" in row.note


def test_stratum_stats_and_mix_inputs_round_trip(tmp_path):
    import pandas as pd

    from curator.ratio_plan import MixInputs, StratumStats

    X, strata, real, syn = data(n=300)
    stats = mix_statistics(X, strata, real, syn)
    back = {k: StratumStats.from_dict(v.to_dict()) for k, v in stats.items()}
    for k, st in stats.items():
        assert back[k].to_dict() == st.to_dict() and back[k] == back[k]
        assert np.array_equal(back[k].nearest_synthetic_rank, st.nearest_synthetic_rank)
    pd.testing.assert_frame_equal(plan_mix(back, {"*": 1.0, "d": 3.0}),
                                  plan_mix(stats, {"*": 1.0, "d": 3.0}))
    assert stats["a"].to_frame().loc["n_real", "value"] == stats["a"].n_real
    assert stats["a"]._repr_html_().startswith("<h4>stratum a</h4>")

    inputs = MixInputs("pixels", "label", np.arange(len(X)).astype(str), X, strata, real, syn)
    again = MixInputs.load(inputs.save(tmp_path / "inputs.json"))
    assert again.to_dict() == inputs.to_dict()
    assert again.X.dtype == np.float32 and np.array_equal(again.X, inputs.X)
    assert list(inputs.to_frame().columns) == ["sample_id", "stratum", "is_real",
                                               "is_synthetic"]
    assert "mix inputs" in inputs._repr_html_()


def test_ratio_plan_uses_the_public_per_stratum_lookups():
    from curator import select

    assert select.ratio_for("b", {"*": 0.5, "b": 2.0}) == 2.0
    assert select.size_for("a", {"a": 60}) == 60 and select.size_for("a", None) is None
