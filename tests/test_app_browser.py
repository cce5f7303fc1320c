"""The app in a real browser: `curator app` serves it on 127.0.0.1, headless Chromium
(Playwright, the system's chromium) loads every page, moves a ratio slider, saves a mix.
Screenshots land in test-artifacts/app/ (or $CURATOR_TEST_ARTIFACTS/app/)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from curator import open_workspace

PAGES = ["Overview", "Gallery", "Map", "Neighbours", "Reports", "Curate ratios", "Export"]
ARTIFACTS = Path(os.environ.get("CURATOR_TEST_ARTIFACTS",
                                Path(__file__).resolve().parent.parent / "test-artifacts"))


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    pytest.skip("headless Chromium is not installed (make test installs it)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(report_ws, tmp_path_factory):
    root = tmp_path_factory.mktemp("browser") / "ws"
    shutil.copytree(report_ws.root, root)
    port = _free_port()
    log = open(tmp_path_factory.mktemp("log") / "app.log", "w+")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "curator.cli", "app", str(root),
                             "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            log.seek(0)
            proc.kill()
            pytest.fail(f"the app did not start:\n{log.read()[-3000:]}")
        time.sleep(0.5)
    yield url, open_workspace(root)
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def test_every_page_loads_a_slider_moves_the_mix_and_save_writes_a_manifest(server):
    sync_api = pytest.importorskip("playwright.sync_api")
    url, ws = server
    shots = ARTIFACTS / "app"
    shots.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=_chromium(),
                                     args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.get_by_role("heading", name="Overview: ws").wait_for(timeout=90_000)
        for name in PAGES:
            page.get_by_role("link", name=name, exact=True).click()
            title = "Overview: ws" if name == "Overview" else name
            page.get_by_role("heading", name=title).first.wait_for(timeout=120_000)
            page.wait_for_timeout(500)  # let the script run start, then wait for its end
            page.wait_for_function("!document.querySelector('[data-testid=\"stSpinner\"]')",
                                   timeout=180_000)
            if name == "Map":  # the chart draws after the script run ends
                page.locator(".vega-embed canvas, .vega-embed svg").first.wait_for(
                    timeout=60_000)
                page.wait_for_timeout(1000)
            assert page.get_by_text("Traceback").count() == 0, name
            page.screenshot(path=str(shots / f"{name.lower().replace(' ', '-')}.png"),
                            full_page=True)
        # Map: drag a box over the middle of the chart; the selection saves as a subset.
        page.get_by_role("link", name="Map", exact=True).click()
        chart = page.locator(".vega-embed").first
        chart.locator("canvas, svg").first.wait_for(timeout=120_000)
        page.wait_for_timeout(1000)
        b = chart.bounding_box()
        page.mouse.move(b["x"] + 0.05 * b["width"], b["y"] + 0.05 * b["height"])
        page.mouse.down()
        page.mouse.move(b["x"] + 0.6 * b["width"], b["y"] + 0.9 * b["height"], steps=12)
        page.mouse.up()
        page.get_by_text(re.compile(r"selected: [1-9][0-9,]* sample")).wait_for(
            timeout=60_000)
        name_box = page.get_by_label("save the selection as subset")
        name_box.fill("browser-box")
        name_box.press("Enter")
        page.get_by_role("button", name="save subset").click()
        page.get_by_text(re.compile(r"saved [0-9,]+ sample")).wait_for(timeout=60_000)
        page.screenshot(path=str(shots / "map-selected.png"), full_page=True)
        # A page's own address opens it inside the app (not a bare script).
        page.goto(f"{url}/curate")
        page.get_by_role("heading", name="Curate ratios").wait_for(timeout=60_000)
        assert page.get_by_role("link", name="Overview", exact=True).count() == 1
        # Curate ratios: the global slider, by keyboard, from 1.00 to 2.00 synthetic per real.
        page.get_by_role("link", name="Curate ratios", exact=True).click()
        slider = page.get_by_role("slider").first
        slider.wait_for(timeout=60_000)
        slider.focus()
        for _ in range(4):
            page.keyboard.press("ArrowRight")
        page.get_by_text("2.00", exact=True).first.wait_for(timeout=30_000)
        box = page.get_by_label("save as")
        box.fill("browser-mix")
        box.press("Enter")
        page.get_by_role("button", name="save subset and manifest").click()
        page.get_by_text("saved subset").wait_for(timeout=60_000)
        page.screenshot(path=str(shots / "curate-saved.png"), full_page=True)
        browser.close()
    from curator.subsets import load_subset

    assert len(load_subset(ws, "browser-box").ids) > 0
    saved = list((ws.root / "manifests").glob("browser-mix-*.parquet"))
    assert len(saved) == 1
    from curator.manifest import read_manifest

    manifest = read_manifest(saved[0])
    assert manifest.header["config"]["synthetic_per_real"]["*"] == 2.0
    for name in PAGES:
        assert (shots / f"{name.lower().replace(' ', '-')}.png").stat().st_size > 10_000
