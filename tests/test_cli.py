"""The command line: each command runs, every command answers --help, and bad input exits 2
with an 'error:' line instead of a traceback."""

from __future__ import annotations

import re

import pytest
import typer
from typer.testing import CliRunner

from curator import open_workspace
from curator.cli import app

runner = CliRunner()


def _invoke(*args: str, code: int = 0):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result


def _command_paths(command, path: tuple[str, ...] = ()):
    yield path
    for name, sub in getattr(command, "commands", {}).items():
        yield from _command_paths(sub, (*path, name))


COMMANDS = list(_command_paths(typer.main.get_command(app)))


def test_every_command_is_covered_by_the_help_test():
    assert {" ".join(p) for p in COMMANDS} >= {
        "", "init", "ingest", "ingest folder", "ingest coco", "ingest table", "ingest masks",
        "ingest digits", "info", "show", "rejects", "demo", "generate", "augment", "recipes",
        "assets", "assets list", "assets register", "match-sensor", "preview"}


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "curator")
def test_every_command_answers_help(path):
    result = _invoke(*path, "--help")
    assert "Usage:" in result.output


def test_init_ingest_info_show_rejects(tmp_path, folder_case):
    ws = tmp_path / "cli-ws"
    assert f"created workspace {ws}" in _invoke("init", ws).output

    out = _invoke("ingest", "folder", folder_case.source.path, "-w", ws, "--batch-rows", "2",
                  "--split", "train").output
    assert "added 6 row(s) in 3 shard(s)" in out
    assert "rejected 5" in out and "not_an_image" in out
    assert open_workspace(ws).samples.count() == 6

    out = _invoke("info", ws).output
    assert "6 sample(s) in 3 shard(s), 5 reject(s)" in out
    assert "by label: cat: 3, dog: 2, " in out  # then the unlabelled top-level file
    assert "by split: train: 6" in out

    out = _invoke("show", "-w", ws, "--columns", "origin,label", "--where", "label == 'dog'").output
    assert "dog/photo.jpg" in out and "cat/" not in out

    err = _invoke("show", "-w", ws, "--columns", "nope", code=2).stderr
    assert err.startswith("error: unknown column(s) ['nope']")

    out = _invoke("rejects", "-w", ws).output
    assert "notes.txt" in out and "path_escape" in out and "5 reject(s) in total" in out

    assert "added 0 row(s)" in _invoke("ingest", "folder", folder_case.source.path,
                                       "-w", ws).output


def test_demo_builds_real_and_synthetic_and_reruns_as_a_noop(tmp_path):
    ws = tmp_path / "demo"
    first = _invoke("demo", "-w", ws, "--small").output
    assert "added 1797 row(s)" in first
    assert "generate digits3d" in first and "generate objects" in first
    frame = open_workspace(ws).to_pandas(columns=["source", "gen_ablated", "gen_recipe",
                                                  "oversample_kind", "parent_ids",
                                                  "generator"])
    assert (frame["source"] == "real").sum() == 1797
    rendered = frame[frame["source"] == "synthetic"]
    synthetic = rendered[rendered["oversample_kind"].isna()]
    assert (synthetic["gen_recipe"] == "objects").sum() == 9
    ablations = synthetic.loc[synthetic["gen_recipe"] == "digits3d", "gen_ablated"]
    assert ablations.value_counts().to_dict() == {
        "none": 180, **{name: 20 for name in ("materials", "lighting", "camera", "pose",
                                              "background", "sensor")}}
    # Step 9: oversampled rows in each space, every one with its parents.
    interpolated = rendered[rendered["oversample_kind"] == "interpolate"]
    oversampled = frame[frame["source"] == "oversampled"]
    assert len(interpolated) > 0 and len(oversampled) > 0
    assert all(len(p) == 2 for p in interpolated["parent_ids"])
    assert all(len(p) >= 2 for p in oversampled["parent_ids"])
    assert {"curator.oversample.smote", "curator.oversample.smote-nc"} <= set(
        oversampled["generator"])
    assert "11. oversampling" in first
    # Step 8: the ratio sweep and the ablation, saved for the report (step 9).
    assert "8. experiments" in first and "recommended mix per real budget" in first
    assert "randomizations that matter" in first
    assert sorted(p.name.split("-")[0] for p in (ws / "experiments").iterdir()) == [
        "ablation", "ratio", "ratio", "ratio"]
    html = (ws / "reports" / "report.html").read_text()
    assert "Real:synthetic ratio sweep" in html
    # Step 9: digits3d shaped and tuned, rendered under its own name, swept with the default.
    assert "9. does synthetic help?" in first and "Does synthetic help?" in html
    assert (synthetic["gen_recipe"] == "digits3d_tuned").sum() == 180
    assert (ws / "recipes" / "digits3d_tuned.yaml").is_file()
    # Step 12: the 1:1 mix frozen as a manifest and exported, each export verified.
    assert "12. manifests and exports" in first and first.count("verified") >= 4
    assert sorted(p.name for p in (ws / "exports").iterdir()) == [
        f"demo-digits-mix-1to1-{f}" for f in ("coco", "folder", "hf", "parquet")]
    second = _invoke("demo", "-w", ws, "--small").output
    assert "added 0 row(s)" in second and "0 written" in second
    assert "0 run(s) trained" in second  # the experiments resume from their cache
    assert open_workspace(ws).samples.count() == len(frame)


@pytest.mark.parametrize(("args", "message"), [
    (("ingest", "folder", "{src}", "-w", "{tmp}/nowhere"), "workspace .* does not exist"),
    (("ingest", "folder", "{tmp}/absent", "-w", "{ws}"), "image folder .* does not exist"),
    (("ingest", "folder", "{src}", "-w", "{ws}", "--split", "Train"), "split name 'Train'"),
    (("ingest", "table", "{src}/t.csv", "-w", "{ws}", "--image-column", "x"), "column 'x'"),
    (("info", "{src}"), "is not a curator workspace"),
    (("init", "{ws}"), "is already a curator workspace"),
], ids=["no-workspace", "no-source", "bad-split", "no-column", "info-no-ws", "init-twice"])
def test_bad_input_exits_2_with_an_error_line(tmp_path, src, ws, args, message):
    src.image("a.png")
    src.table("t.csv", {"path": ["a.png"]})
    fill = {"src": src.root, "tmp": tmp_path, "ws": ws.root}
    result = _invoke(*(a.format(**fill) for a in args), code=2)
    assert result.stderr.startswith("error: ")
    assert result.stderr.count("error:") == 1
    assert "\x1b[" not in result.stderr  # plain text, no colour codes
    assert re.search(message, result.stderr.replace("\n", " ").replace("  ", " "))
    assert ws.samples.shards() == []


def test_a_long_error_message_stays_on_one_line(tmp_path):
    result = _invoke("info", tmp_path / ("x" * 100), code=2)
    assert result.stderr.count("\n") == 1


def test_generate_augment_and_a_registered_mesh_end_to_end(tmp_path, ws):
    import trimesh

    out = _invoke("generate", "digits3d", "--n", "6", "-w", ws.root, "--workers", "1").output
    assert "6 written" in out
    assert "0 written, 6 already present" in _invoke(
        "generate", "digits3d", "--n", "6", "-w", ws.root, "--workers", "1").output
    assert "12 row(s) written" in _invoke("augment", "--n", "2", "-w", ws.root).output

    mesh = tmp_path / "teapot.obj"
    trimesh.creation.annulus(0.3, 0.5, 0.4).export(mesh)
    _invoke("assets", "register", mesh, "--label", "teapot", "--tags", "kitchen,user",
            "-w", ws.root)
    assert "mesh_teapot" in _invoke("assets", "list", "--tag", "user", "-w", ws.root).output
    recipe = tmp_path / "teapots.yaml"
    recipe.write_text("name: teapots\nsize: 32\nscene:\n  objects:\n    query: {label: teapot}\n"
                      "randomizers:\n  lighting: true\n")
    assert "3 written" in _invoke("generate", recipe, "--n", "3", "-w", ws.root,
                                  "--workers", "1").output
    labels = ws.to_pandas(columns=["label", "gen_recipe"], filters=[("gen_recipe", "==",
                                                                     "teapots")])["label"]
    assert set(labels) == {"teapot"}
    assert "config hash" in _invoke("recipes", "digits3d").output


@pytest.mark.parametrize(("args", "message"), [
    (("generate", "objects", "--n", "2", "--ablate", "lightning"), "did you mean 'lighting'"),
    (("generate", "nosuch", "--n", "2"), "neither a built-in recipe"),
    (("augment", "--n", "2", "--rotate-deg", "10"), "min,max"),
    (("assets", "register", "{tmp}/none.obj", "--label", "x"), "does not exist"),
], ids=["bad-ablation", "bad-recipe", "bad-range", "no-mesh"])
def test_generator_commands_reject_bad_input(tmp_path, ws, args, message):
    result = _invoke(*(a.format(tmp=tmp_path) for a in args), "-w", ws.root, code=2)
    assert result.stderr.startswith("error: ")
    assert re.search(message, result.stderr.replace("\n", " "))
    assert ws.samples.shards() == []


def test_match_sensor_writes_a_recipe_that_renders_with_the_real_sensor(tmp_path, ws):
    import numpy as np
    from PIL import Image
    from scipy import ndimage

    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        img = np.kron(rng.uniform(0, 1, (8, 8, 3)), np.ones((12, 12, 1)))  # sharp blocks
        img = ndimage.gaussian_filter(img, (1.5, 1.5, 0)) + rng.normal(0, 0.02, img.shape)
        Image.fromarray(np.clip(img * 255, 0, 255).astype(np.uint8)).save(folder / f"{i}.png")
    _invoke("ingest", "folder", folder, "-w", ws.root)
    out = tmp_path / "matched.yaml"
    printed = _invoke("match-sensor", "objects", "-w", ws.root, "--out", out).output
    assert "noise_std" in printed and "blur_sigma_px" in printed
    from generators.recipe import load_recipe

    matched = load_recipe(out)
    lo, hi = matched.params("sensor")["noise_std"]["range"]
    assert 0.01 < lo <= hi < 0.03
    assert matched.name == "objects-matched"
    assert "2 written" in _invoke("generate", out, "--n", "2", "--size", "32", "-w", ws.root,
                                  "--workers", "1").output


def test_preview_writes_a_contact_sheet_of_the_same_samples_generate_makes(tmp_path, ws):
    import io

    import numpy as np
    from PIL import Image

    out = tmp_path / "sheet.png"
    _invoke("preview", "digits3d", "--n", "3", "--out", out)
    sheet = np.asarray(Image.open(out))
    # 3 rows of 8x8 samples scaled x12 to 96 px, 6 panels, 2 px gaps.
    assert sheet.shape == (3 * 96 + 4, 6 * 96 + 10, 3)
    _invoke("generate", "digits3d", "--n", "1", "-w", ws.root, "--workers", "1")
    (stored,) = ws.to_table(columns=["image_bytes"])["image_bytes"].to_pylist()
    first = np.asarray(Image.open(io.BytesIO(stored)))
    assert np.array_equal(sheet[:96:12, :96:12, 0], first)  # the first panel is sample 0
