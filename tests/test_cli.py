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
        "ingest digits", "info", "show", "rejects", "demo"}


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


def test_demo_builds_the_digits_workspace_and_reruns_as_a_noop(tmp_path):
    ws = tmp_path / "demo"
    assert "added 1797 row(s)" in _invoke("demo", "-w", ws).output
    assert "added 0 row(s)" in _invoke("demo", "-w", ws).output
    assert open_workspace(ws).samples.count() == 1797


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
