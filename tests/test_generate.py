"""Generation runs end to end: real renders into a real workspace (determinism, ablation,
resume after SIGKILL, worker-count independence, recipe validation)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pyarrow.compute as pc
import pytest
import yaml
from conftest import kill_after_shards
from PIL import Image

from curator import init_workspace, open_workspace
from generators.errors import RecipeError
from generators.recipe import RANDOMIZERS, load_recipe, recipe_source
from generators.run import generate

SMALL = {"size": 48}
LABEL_COLUMNS = ["image_bytes", "mask_bytes", "class_mask_bytes", "matte_bytes", "depth_bytes",
                 "normals_bytes"]


def _objects(**overrides):
    return load_recipe("objects", {**SMALL, **overrides})


def _rows(ws, columns=None):
    return ws.to_pandas(columns=columns).sort_values("gen_index").reset_index(drop=True)


def test_same_seed_same_bytes_different_seed_differs(tmp_path):
    recipe = _objects()
    a, b, c = (init_workspace(tmp_path / name) for name in "abc")
    generate(a, recipe, 6, seed=3, workers=1)
    generate(b, recipe, 6, seed=3, workers=1)
    generate(c, recipe, 6, seed=4, workers=1)
    ra, rb, rc = (_rows(w) for w in (a, b, c))
    assert len(ra) == 6
    for column in LABEL_COLUMNS + ["sample_id", "seed"]:
        assert ra[column].tolist() == rb[column].tolist(), column
    assert not set(ra["sample_id"]) & set(rc["sample_id"])
    assert ra["label"].tolist() != rc["label"].tolist() or ra["cam_yaw_deg"].tolist() != rc[
        "cam_yaw_deg"].tolist()


def test_generated_rows_carry_consistent_labels_and_attributes(tmp_path):
    ws = init_workspace(tmp_path / "ws")
    recipe = _objects()
    summary = generate(ws, recipe, 8, seed=0, workers=1)
    assert summary.written == 8 and summary.rendered == 8
    rows = _rows(ws)
    assert set(rows["source"]) == {"synthetic"}
    assert set(rows["config_hash"]) == {summary.config_hash}
    for attr in ("light_azimuth_deg", "color_temp_k", "cam_yaw_deg", "pose_yaw_deg",
                 "bg_kind", "sensor_noise_std", "n_distractors", "gen_index"):
        assert rows[attr].notna().all(), attr
    for _, row in rows.iterrows():
        instance = np.asarray(Image.open(io.BytesIO(row["mask_bytes"])))
        classes = np.asarray(Image.open(io.BytesIO(row["class_mask_bytes"])))
        assert instance.shape == (48, 48) and row["mask_kind"] == "instance"
        assert np.array_equal(instance == 0, classes == 0)
        for obj in row["objects"]:
            pixels = instance == obj["instance_id"]
            assert obj["area"] == pixels.sum() > 0
            ys, xs = np.nonzero(pixels)
            assert list(obj["bbox_xywh"]) == [xs.min(), ys.min(), np.ptp(xs) + 1, np.ptp(ys) + 1]
            assert 0 < obj["visibility"] <= 1
        assert row["label"] in {o["label"] for o in row["objects"]} or row["gen_n_small"] > 0


def test_ablation_holds_one_randomizer_and_leaves_the_others_paired(tmp_path):
    recipe = _objects()
    full, ablated = init_workspace(tmp_path / "full"), init_workspace(tmp_path / "ablated")
    generate(full, recipe, 6, seed=1, workers=1)
    summary = generate(ablated, recipe.ablate("lighting"), 6, seed=1, workers=1)
    assert summary.ablated == "lighting"
    a, f = _rows(ablated), _rows(full)
    for attr in ("light_count", "light_azimuth_deg", "light_elevation_deg", "light_intensity",
                 "color_temp_k", "light_ambient"):
        assert a[attr].nunique() == 1, attr
        assert f[attr].nunique() > 1, attr
    # Every other randomizer drew exactly the same values in both runs.
    for attr in ("cam_yaw_deg", "cam_distance_m", "pose_yaw_deg", "mat_hue", "bg_kind",
                 "sensor_gamma", "n_distractors"):
        assert a[attr].tolist() == f[attr].tolist(), attr
    assert set(a["gen_ablated"]) == {"lighting"}
    assert a["config_hash"].iloc[0] != f["config_hash"].iloc[0]


def test_resume_renders_only_missing_indices(tmp_path):
    ws = init_workspace(tmp_path / "ws")
    recipe = _objects()
    first = generate(ws, recipe, 4, seed=2, workers=1)
    second = generate(ws, recipe, 7, seed=2, workers=1)
    assert (first.rendered, second.rendered, second.already_present) == (4, 3, 4)
    again = generate(ws, recipe, 7, seed=2, workers=1)
    assert again.rendered == 0 and again.already_present == 7
    assert sorted(_rows(ws, ["gen_index"])["gen_index"]) == list(range(7))


def test_worker_processes_give_the_same_samples_as_one_process(tmp_path):
    recipe = _objects()  # several lights and meshes: order-sensitive if anything is
    one, two = init_workspace(tmp_path / "one"), init_workspace(tmp_path / "two")
    generate(one, recipe, 16, seed=5, workers=1)
    summary = generate(two, recipe, 16, seed=5, workers=2, chunk_size=4)
    assert summary.workers == 2
    r1, r2 = _rows(one), _rows(two)
    assert r1["sample_id"].tolist() == r2["sample_id"].tolist()
    for column in LABEL_COLUMNS:
        assert r1[column].tolist() == r2[column].tolist(), column


def test_digits3d_matches_the_scikit_learn_digits_format(tmp_path):
    ws = init_workspace(tmp_path / "ws")
    generate(ws, load_recipe("digits3d"), 30, seed=0, workers=1)
    rows = _rows(ws)
    levels = set(np.round(np.arange(17) * 255 / 16).astype(int))
    assert set(rows["label"]) <= {str(d) for d in range(10)} and rows["label"].nunique() > 5
    for data in rows["image_bytes"]:
        with Image.open(io.BytesIO(data)) as img:
            assert img.mode == "L" and img.size == (8, 8)
            assert set(np.unique(np.asarray(img)).tolist()) <= levels


@pytest.mark.parametrize("overrides, message", [
    ({"randomizers": {"lightning": {}}}, "unknown randomizer 'lightning'.*did you mean 'lighting'"),
    ({"randomizers": {"camera": {"yaw_deg": [30, -30]}}}, "inverted range"),
    ({"randomizers": {"distractors": {"count": [-1, 2]}}}, "cannot be negative"),
    ({"scene": {"objects": {"query": {"label": "spaceship"}}}}, "matches no asset"),
    ({"randomizers": {"materials": {"texture_prob": 1.5}}}, "probability"),
    ({"size": 3}, "size"),
])
def test_bad_recipes_fail_before_any_rendering(tmp_path, overrides, message):
    ws = init_workspace(tmp_path / "ws")
    start = time.perf_counter()
    with pytest.raises(RecipeError, match=message):
        generate(ws, _objects(**overrides), 4, workers=1)
    assert time.perf_counter() - start < 5
    assert ws.samples.count() == 0


def test_unknown_ablation_and_bad_counts_are_rejected(tmp_path):
    ws = init_workspace(tmp_path / "ws")
    with pytest.raises(RecipeError, match="unknown randomizer"):
        _objects().ablate("weather")
    with pytest.raises(RecipeError, match="non-negative"):
        generate(ws, _objects(), -1)
    assert set(RANDOMIZERS) == {"materials", "lighting", "camera", "pose", "background",
                                "distractors", "occluders", "sensor", "glyph"}


def test_a_killed_run_resumes_without_duplicates(tmp_path):
    ws = init_workspace(tmp_path / "ws").root
    script = textwrap.dedent(f"""
        from curator import open_workspace
        from generators.recipe import load_recipe
        from generators.run import generate
        generate(open_workspace({str(ws)!r}), load_recipe("objects", {{"size": 48}}), 40,
                 seed=9, workers=1, write_rows=2)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.DEVNULL)
    kill_after_shards(proc, ws, 3)
    landed = open_workspace(ws).samples.count()
    assert 6 <= landed < 40
    summary = generate(open_workspace(ws), load_recipe("objects", {"size": 48}), 40, seed=9,
                       workers=1)
    assert summary.already_present == landed and summary.rendered == 40 - landed
    indices = open_workspace(ws).to_table(columns=["gen_index"])["gen_index"]
    assert sorted(indices.to_pylist()) == list(range(40))
    assert pc.count_distinct(indices).as_py() == 40


def test_real_workspace_images_as_backgrounds_and_wrong_textures(tmp_path):
    from curator.ingest import ingest, read_digits

    ws = init_workspace(tmp_path / "ws")
    ingest(ws, read_digits(40))
    recipe = _objects(randomizers={"background": {"kinds": ["workspace"]},
                                   "materials": {"texture_prob": 1.0}})
    summary = generate(ws, recipe, 4, seed=0, workers=1)
    rows = ws.to_pandas(filters=[("source", "==", "synthetic")])
    assert set(rows["bg_kind"]) == {"workspace"}
    assert (rows["mat_texture"] != "none").all()
    # The backgrounds are part of the run's identity: other real images, another hash.
    assert summary.config_hash != _objects(randomizers={"background": {
        "kinds": ["workspace"]}, "materials": {"texture_prob": 1.0}}).config_hash
    empty = init_workspace(tmp_path / "empty")
    with pytest.raises(RecipeError, match="needs real images"):
        generate(empty, recipe, 2, workers=1)


def test_a_registered_mesh_that_disappeared_fails_clearly(tmp_path):
    import trimesh

    from generators.assets import AssetError
    from generators.workspace_assets import register_mesh

    ws = init_workspace(tmp_path / "ws")
    mesh = tmp_path / "crate.obj"
    trimesh.creation.box((1, 1, 1)).export(mesh)
    register_mesh(ws, mesh, label="crate", tags=["kitchen"])
    (ws.root / "assets" / "meshes" / "crate.obj").unlink()
    recipe = load_recipe("objects", {"size": 32, "scene": {"objects": {"query": {
        "label": "crate"}}}})
    with pytest.raises(AssetError, match="crate"):
        generate(ws, recipe, 2, workers=1)
    with pytest.raises(AssetError, match="crate"):
        generate(ws, recipe, 4, workers=2, chunk_size=1)
    assert ws.samples.count() == 0


def _children(pid: int) -> list[int]:
    kids = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = open(f"/proc/{entry.name}/stat").read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc (Linux)")
def test_render_workers_exit_when_their_parent_is_killed(tmp_path):
    ws = init_workspace(tmp_path / "ws").root
    script = textwrap.dedent(f"""
        from curator import open_workspace
        from generators.recipe import load_recipe
        from generators.run import generate
        if __name__ == "__main__":
            generate(open_workspace({str(ws)!r}), load_recipe("objects", {{"size": 32}}),
                     100000, seed=3, workers=2, chunk_size=4, write_rows=8)
    """)
    path = tmp_path / "run.py"
    path.write_text(script)
    proc = subprocess.Popen([sys.executable, str(path)], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not open_workspace(ws).samples.shards():  # the workers are rendering
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        workers = _children(proc.pid)
        assert len(workers) >= 2
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in workers if _alive(p)], "render workers outlived their parent"


def test_output_chain_round_trips_through_a_recipe_file(tmp_path):
    path = tmp_path / "chained.yaml"
    source = recipe_source("digits3d")[0]
    source["output"] = {"chain": "mnist"}
    path.write_text(yaml.safe_dump(source))
    recipe = load_recipe(path)
    assert recipe.config["output"]["chain"] == "mnist"
    # The normalised output section, written back as YAML, reads back to the same recipe.
    path.write_text(yaml.safe_dump({**source, "output": recipe.config["output"]}))
    assert load_recipe(path).config == recipe.config
    assert recipe.config_hash != load_recipe(path, {"output": {"chain": "sklearn_digits"}}
                                             ).config_hash
    # Recipes without a chain keep their hash (and so their samples) from before chains.
    assert "chain" not in load_recipe("digits3d").config["output"]
    assert load_recipe("digits3d").config_hash == "6b654948d75f538b"
    ws = init_workspace(tmp_path / "ws")
    generate(ws, recipe, 3, seed=0, workers=1)
    for data in _rows(ws)["image_bytes"]:
        with Image.open(io.BytesIO(data)) as img:
            assert img.mode == "L" and img.size == (28, 28)


@pytest.mark.parametrize("output, message", [
    ({"chain": "sklearn"}, r"digits3d.output.chain: unknown output chain 'sklearn' \(did you "
                           r"mean 'sklearn_digits'\?\); allowed: mnist, sklearn_digits"),
    ({"chain": "mnist"}, r"output.size 8 conflicts with chain 'mnist'"),  # digits3d's size 8
    ({"chain": "sklearn_digits", "levels": 256}, r"output.levels 256 conflicts"),
])
def test_bad_output_chains_name_the_key_and_the_choices(output, message):
    with pytest.raises(RecipeError, match=message):
        load_recipe("digits3d", {"output": output})
