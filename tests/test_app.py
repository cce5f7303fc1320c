"""The Streamlit app: every page under streamlit's AppTest on a real workspace, the ratio
sliders moving the achieved mix, saving a manifest the core reads back, and bad input shown
as a message instead of a traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from streamlit.testing.v1 import AppTest

from curator import init_workspace, open_workspace

APP = Path(__file__).resolve().parent.parent / "app"
PAGES = ["overview", "gallery", "map", "neighbours", "report_view", "curate", "export"]


@pytest.fixture(scope="module")
def app_ws(report_ws, tmp_path_factory):
    """A copy of the report workspace (the app writes subsets and manifests into it)."""
    root = tmp_path_factory.mktemp("app") / "ws"
    shutil.copytree(report_ws.root, root)
    return open_workspace(root)


def page(name: str, ws_root, monkeypatch) -> AppTest:
    monkeypatch.setenv("CURATOR_WORKSPACE", str(ws_root))
    return AppTest.from_file(str(APP / "views" / f"{name}.py"), default_timeout=180).run()


def texts(at: AppTest) -> str:
    parts = [e.value for kind in ("markdown", "caption", "title", "header", "subheader",
                                  "success", "info", "warning", "error")
             for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


@pytest.mark.parametrize("name", PAGES)
def test_every_page_renders_on_a_real_workspace(name, app_ws, monkeypatch):
    at = page(name, app_ws.root, monkeypatch)
    assert not at.exception, at.exception
    assert not [e for e in at.error if e.value.startswith(("CuratorError", "ValueError",
                                                           "KeyError", "OSError"))]
    assert at.title, "every page has a title"


def test_overview_counts_and_gallery_filters_page_and_detail(app_ws, monkeypatch):
    at = page("overview", app_ws.root, monkeypatch)
    assert at.metric[0].value == f"{app_ws.samples.count():,}"
    gallery = page("gallery", app_ws.root, monkeypatch)
    assert f"{app_ws.samples.count():,} sample(s) match" in texts(gallery)
    assert len(gallery.get("image")) > 0
    gallery.multiselect(key="g_source").select("real").run()
    n_real = int((app_ws.to_pandas(["source"]).source == "real").sum())
    assert f"{n_real:,} sample(s) match" in texts(gallery)
    gallery.text_input(key="g_where").input("label == '3'").run()
    assert not gallery.exception
    shown = gallery.selectbox(key="g_sample").value
    assert f"Sample {shown}" in texts(gallery) and len(gallery.json) >= 2  # labels, lineage
    bad = gallery.text_input(key="g_where").input("label ~ 3").run()
    assert not bad.exception and "bad --where" in texts(bad)


def test_neighbours_by_sample_and_by_attribute_target(app_ws, monkeypatch):
    at = page("neighbours", app_ws.root, monkeypatch)
    heads = [h.value for h in at.subheader]
    assert "nearest real" in heads and "nearest synthetic" in heads
    assert all(len(df.value) == 5 for df in at.dataframe)
    at.radio(key="n_mode").set_value("attribute targets").run()
    at.text_input(key="n_target").input("pose_yaw_deg=45").run()
    assert not at.exception and at.dataframe and len(at.dataframe[0].value) > 0
    assert "synthetic" in [h.value.split()[-1] for h in at.subheader]


def test_ratio_slider_moves_the_mix_and_saving_writes_a_manifest_the_core_reads(
        app_ws, monkeypatch):
    from curator.manifest import read_manifest
    from curator.subsets import load_subset

    at = page("curate", app_ws.root, monkeypatch)
    metrics = {m.label: m.value for m in at.metric}
    at.slider(key="c_ratio_all").set_value(0.5).run()
    half = {m.label: m.value for m in at.metric}
    assert half["synthetic per real"] == "0.50" and half["synthetic"] != metrics["synthetic"]
    at.slider(key="c_ratio_all").set_value(0.0).run()
    assert {m.label: m.value for m in at.metric}["synthetic"] == "0"
    at.slider(key="c_ratio_all").set_value(8.0).run()  # more than there is: explained
    assert any("only" in w.value and "synthetic" in w.value for w in at.warning)
    at.slider(key="c_ratio_all").set_value(1.0).run()
    at.text_input(key="c_name").input("app-mix").run()
    at.button(key="c_save").click().run()
    assert not at.exception and "saved subset" in texts(at)
    saved = sorted((app_ws.root / "manifests").glob("app-mix-*.parquet"))
    assert len(saved) == 1
    manifest = read_manifest(saved[0])
    subset = load_subset(app_ws, "app-mix")
    assert sorted(manifest.frame.sample_id) == sorted(subset.ids)
    assert manifest.header["config"]["synthetic_per_real"]["*"] == 1.0
    assert set(manifest.frame.source) == {"real", "synthetic"}
    # Export: the same subset freezes to the same manifest (reused) and exports, verified.
    ex = page("export", app_ws.root, monkeypatch)
    ex.selectbox(key="e_subset").set_value("app-mix").run()
    ex.radio(key="e_format").set_value("folder").run()
    ex.button(key="e_go").click().run()
    assert not ex.exception and "verified" in texts(ex), texts(ex)
    frozen = sorted((app_ws.root / "manifests").glob("app-mix-*.parquet"))
    assert len(frozen) == 2  # the curation's manifest, and the subset's (another config)
    exported = app_ws.root / "exports" / "app-mix-folder"
    assert sum(1 for _ in exported.glob("*/*")) == len(subset.ids)
    assert pq.read_table(saved[0]).num_rows == len(subset.ids)
    ex.button(key="e_go").click().run()  # again, without "replace": refused, kept
    assert "exists already" in texts(ex) and exported.is_dir()
    assert sorted((app_ws.root / "manifests").glob("app-mix-*.parquet")) == frozen
    ex.text_input(key="e_folder_app-mix_folder").input("../../escape").run()
    ex.button(key="e_go").click().run()
    assert not ex.exception and "outside" in texts(ex).lower()
    assert not (app_ws.root.parent / "escape").exists()


def test_reports_page_shows_sections_and_findings(app_ws, monkeypatch):
    at = page("report_view", app_ws.root, monkeypatch)
    heads = [h.value for h in at.header]
    assert "Balance" in heads[0] and any("gap" in h.lower() for h in heads)
    assert at.get("image") and at.dataframe


def test_bad_workspaces_get_a_message_not_a_traceback(tmp_path, monkeypatch):
    monkeypatch.delenv("CURATOR_WORKSPACE", raising=False)
    at = AppTest.from_file(str(APP / "views" / "overview.py"), default_timeout=60).run()
    assert not at.exception and "No workspace chosen" in at.error[0].value
    missing = page("overview", tmp_path / "nowhere", monkeypatch)
    assert not missing.exception and "Cannot open the workspace" in missing.error[0].value
    empty = init_workspace(tmp_path / "empty")
    at = page("gallery", empty.root, monkeypatch)
    assert not at.exception and "has no samples yet" in at.info[0].value
    # A corrupted shard: the page says what failed.
    from curator.ingest import ingest, read_digits

    broken = init_workspace(tmp_path / "broken")
    ingest(broken, read_digits(20))
    shard = broken.samples.shards()[0]
    shard.write_bytes(b"not parquet at all")
    at = page("gallery", broken.root, monkeypatch)
    assert not at.exception and at.error and "parquet" in at.error[0].value.lower()


def test_main_script_navigates_and_cli_binds_localhost(app_ws, monkeypatch):
    from typer.testing import CliRunner

    from curator.cli import app
    from curator.cli.serve import app_command

    monkeypatch.setenv("CURATOR_WORKSPACE", str(app_ws.root))
    at = AppTest.from_file(str(APP / "streamlit_app.py"), default_timeout=120).run()
    assert not at.exception and at.title[0].value.startswith("Overview")
    cmd = app_command(app_ws.root)
    assert cmd[cmd.index("--server.address") + 1] == "127.0.0.1"
    exposed = app_command(app_ws.root, expose=True)
    assert exposed[exposed.index("--server.address") + 1] == "0.0.0.0"
    bad = CliRunner().invoke(app, ["app", str(app_ws.root / "nope")])
    assert bad.exit_code == 2 and "does not exist" in bad.output


def test_cached_pages_refresh_when_the_workspace_changes(report_ws, tmp_path, monkeypatch):
    from curator.ingest import ingest, read_digits

    shutil.copytree(report_ws.root, tmp_path / "ws")
    ws = open_workspace(tmp_path / "ws")
    before = page("overview", ws.root, monkeypatch).metric[0].value
    ingest(ws, read_digits(310))  # 10 more real digits
    after = page("overview", ws.root, monkeypatch).metric[0].value
    assert before != after == f"{ws.samples.count():,}"


def test_the_app_imports_nothing_from_the_cli():
    """The app is a shell over the core: ``--where`` parsing comes from ``curator.query``."""
    import ast

    for path in sorted(APP.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not [n for n in names if n.startswith("curator.cli")], path


def test_stopping_curator_app_stops_the_server(app_ws):
    """`curator app` is the server process itself: terminating it leaves no Streamlit."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "curator.cli", "app", str(app_ws.root),
                             "--port", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health",
                                            timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        assert proc.poll() is None, "the app did not start"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    leftovers = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "streamlit" in text and f"--server.port {port}" in text:
            leftovers.append(text)
    assert leftovers == []
