"""The report end to end: `curator report` on real workspaces, its HTML parsed and opened in
headless Chromium, its JSON and generation requests, and `curator fill` rendering them."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pyarrow as pa
import pytest
from PIL import Image
from typer.testing import CliRunner

from curator import init_workspace, open_workspace
from curator.cli import app
from curator.errors import CuratorError
from curator.hashing import text_id
from curator.ingest import ingest, read_digits
from curator.requests import GenerationRequest, parse_requests
from reports.build import SECTIONS, ReportConfig, build_report

runner = CliRunner()
TARGET = "gen_recipe=objects,pose_yaw_deg=30..60,color_temp_k=2500..3500"


def _invoke(*args, code: int = 0):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == code, result.output
    return result


class _Outline(HTMLParser):
    """Ids, h2 titles, TOC links, tags and external references of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.tags: dict[str, int] = {}
        self.h2: list[str] = []
        self.external: list[str] = []
        self._in_h2 = False

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href", "").startswith("#"):
            self.links.append(attrs["href"][1:])
        for key in ("src", "href", "xlink:href"):
            value = attrs.get(key) or ""
            if re.match(r"^(https?:)?//", value):
                self.external.append(value)
        self._in_h2 = tag == "h2"

    def handle_endtag(self, tag):
        if tag == "h2":
            self._in_h2 = False

    def handle_data(self, data):
        if self._in_h2 and data.strip():
            self.h2.append(data.strip())


@pytest.fixture(scope="module")
def written(report_ws, tmp_path_factory):
    out = tmp_path_factory.mktemp("report-out") / "report.html"
    result = _invoke("report", report_ws.root, "--out", out, "--n-boot", "20", "--target",
                     TARGET, "--target-count", "10")
    return out, result.output


def test_cli_writes_a_self_contained_page_with_every_section(written):
    out, output = written
    text = out.read_text(encoding="utf-8")
    page = _Outline()
    page.feed(text)
    titles = ["Balance", "Bias and confounders", "Label quality", "Real vs synthetic gap",
              "Coverage gaps", "Duplicates and leakage", "Ablations and experiments"]
    assert [t for t in page.h2 if t in titles] == titles
    assert "Key findings" in page.h2
    # The table of contents links to every section, and every link lands.
    assert set(page.links) >= {re.sub(r"[^a-z0-9]+", "-", t.lower()) for t in titles}
    assert set(page.links) <= page.ids
    # Self-contained: no scripts, no stylesheets or images fetched from anywhere.
    assert page.tags.get("script", 0) == 0 and page.tags.get("link", 0) == 0
    assert page.external == [] and "@import" not in text
    assert re.search(r"url\((?!#)", text) is None  # only in-page references (SVG clip paths)
    assert page.tags.get("svg", 0) >= 6  # figures are inline SVG
    assert "report:" in output and "generation request(s)" in output


def test_json_and_requests_beside_the_page(written):
    out, _ = written
    data = json.loads(out.with_suffix(".json").read_text())
    assert [s["title"] for s in data["sections"]][:2] == ["Balance", "Bias and confounders"]
    gap = next(s for s in data["sections"] if s["title"] == "Real vs synthetic gap")
    rows = gap["results"][0]["tables"]["gap"]
    assert rows[0]["stratum"] == "all" or "all" in json.dumps(rows[0])
    requests = parse_requests(out.with_suffix(".requests.json").read_text())
    assert requests == [GenerationRequest.from_dict(r) for r in data["requests"]]
    # The target box no object scene falls into becomes a request for the objects recipe.
    target = [r for r in requests if r.reason.startswith("target")]
    assert len(target) == 1 and target[0].recipe == "objects" and target[0].n >= 1
    assert target[0].ranges == {"pose_yaw_deg": (30.0, 60.0), "color_temp_k": (2500.0, 3500.0)}


def test_extra_strata_get_their_own_gap_rows(report_ws):
    doc = build_report(report_ws, ReportConfig(n_boot=10, sections=("gap",), by="split"))
    gap = doc.section("Real vs synthetic gap").results[0].tables["gap"]
    assert {"split=train", "split=test"} <= set(gap["stratum"])


def test_same_seed_same_bytes(report_ws):
    cfg = ReportConfig(n_boot=10, sections=("balance", "gap", "duplicates"))
    a, b = build_report(report_ws, cfg), build_report(report_ws, cfg)
    assert a.to_html() == b.to_html() and a.to_json() == b.to_json()


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    pytest.skip("headless Chromium is not installed (make test installs it)")


CHROME_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                # Any network fetch would fail: the page must not need one.
                "--host-resolver-rules=MAP * ~NOTFOUND"]


def test_page_renders_in_headless_chromium(written, tmp_path):
    out, _ = written
    chrome = _chromium()
    flags = CHROME_FLAGS + [f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([chrome, *flags, "--dump-dom", out.as_uri()], capture_output=True,
                         text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "id=\"real-vs-synthetic-gap\"" in dom.stdout and "<svg" in dom.stdout
    shot = tmp_path / "page.png"
    result = subprocess.run([chrome, *flags, f"--screenshot={shot}", "--window-size=1200,1600",
                             out.as_uri()], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and shot.is_file(), result.stderr[-2000:]
    pixels = np.asarray(Image.open(shot).convert("L"))
    assert pixels.shape == (1600, 1200)
    assert (pixels < 128).mean() > 0.005  # text and figures drew, not a blank page


def test_bad_input_is_refused_with_a_clear_message(report_ws, tmp_path):
    err = _invoke("report", report_ws.root, "--out", tmp_path / "r.txt", code=2).output
    assert "must end in .html" in err
    err = _invoke("report", report_ws.root, "--sections", "balance,colour", code=2).output
    assert "unknown report section" in err and "colour" in err
    err = _invoke("report", report_ws.root, "--embedding", "nope", code=2).output
    assert "no embedding 'nope'" in err and "pixels" in err
    err = _invoke("report", report_ws.root, "--by", "label,colour", code=2).output
    assert "unknown stratum column 'colour'" in err
    empty = init_workspace(tmp_path / "empty")
    assert "has no samples" in _invoke("report", empty.root, code=2).output
    assert not (tmp_path / "r.txt").exists()


@pytest.fixture(scope="module")
def planted_ws(tmp_path_factory):
    """Real digits plus a 'synthetic' set with a yaw side bias, a background that predicts
    the label, and no samples at all with color_temp_k in [5000, 6000)."""
    ws = init_workspace(tmp_path_factory.mktemp("planted") / "ws")
    ingest(ws, read_digits(600))
    real = ws.to_table(["image_bytes", "label", "width", "height", "mode"])
    n = real.num_rows
    rng = np.random.default_rng(7)
    labels = np.asarray(real.column("label").to_pylist())
    yaw = np.where(rng.random(n) < 0.85, rng.uniform(0, 60, n), rng.uniform(-60, 0, n))
    temp = rng.uniform(3000, 8000, n)
    temp = np.where((temp >= 5000) & (temp < 6000), temp - 2000, temp)
    bg = np.where(rng.random(n) < 0.9,
                  np.where(np.isin(labels, ["0", "1", "2", "3", "4"]), "texture", "flat"),
                  rng.choice(["texture", "flat"], n))
    syn = real.append_column("sample_id", pa.array([text_id("planted", str(i))
                                                    for i in range(n)]))
    for name, values in (("source", ["synthetic"] * n), ("split", ["train"] * n),
                         ("generator", ["test.planted"] * n), ("generator_version", ["1"] * n),
                         ("config_hash", ["p"] * n), ("gen_recipe", ["planted"] * n),
                         ("pose_yaw_deg", yaw), ("color_temp_k", temp), ("bg_kind", bg),
                         ("light_intensity", rng.uniform(2, 6, n))):
        syn = syn.append_column(name, pa.array(values))
    ws.append_samples(syn)
    return ws


def test_planted_biases_are_detected_and_named_in_the_report(planted_ws, tmp_path):
    doc = build_report(planted_ws, ReportConfig(sections=("balance", "bias")))
    found = {(f.kind, f.subject) for _, f in doc.findings()}
    assert ("side_bias", "pose_yaw_deg") in found
    assert ("confounder", "bg_kind") in found
    assert ("confounder", "light_intensity") not in found
    holes = [f for _, f in doc.findings() if f.kind == "missing_region"
             and "color_temp_k" in f.subject]
    assert holes, sorted(found)
    assert any(d.get("lo", 0) < 6000 and d.get("hi", 1e9) > 5000 for d in
               (h.details for h in holes))
    # Named in the page a curator reads, not only in the objects.
    page = doc.to_html()
    for words in ("side_bias", "pose_yaw_deg", "confounder", "bg_kind", "missing_region",
                  "color_temp_k"):
        assert words in page
    # Rectifying the confounder: generation requests for the under-filled bg_kind x label cells.
    fill = [r for r in doc.requests if "bg_kind" in r.values]
    assert fill and all(r.recipe == "planted" and r.label is not None for r in fill)


def test_fill_renders_a_request_inside_its_ranges(tmp_path):
    ws = init_workspace(tmp_path / "ws")
    path = tmp_path / "requests.json"
    path.write_text(json.dumps({"requests": [
        {"n": 4, "label": "3", "ranges": {"pose_yaw_deg": [30, 60],
                                           "color_temp_k": [2500, 3500],
                                           "visibility": [0.5, 1.0]},
         "recipe": "digits3d", "reason": "test"}]}))
    out = _invoke("fill", path, "-w", ws.root, "--workers", "1").output
    assert "left free: visibility" in out and "4 written" in out
    rows = open_workspace(ws.root).to_pandas(["label", "pose_yaw_deg", "color_temp_k"])
    assert (rows.label == "3").all() and len(rows) == 4
    assert rows.pose_yaw_deg.between(30, 60).all() and rows.color_temp_k.between(2500, 3500).all()
    assert "0 written" in _invoke("fill", path, "-w", ws.root, "--workers", "1").output
    bad = tmp_path / "bad.json"
    bad.write_text('{"requests": [{"n": 0}]}')
    assert "n >= 1" in _invoke("fill", bad, "-w", ws.root, code=2).output


def test_sections_constant_matches_the_cli_help():
    help_text = _invoke("report", "--help").output
    for key in SECTIONS:
        assert key in help_text


def _copy_of_digits(ws, n: int, tag: str, **columns) -> None:
    """Append ``n`` rows that reuse real digit images, with the given columns."""
    digits = ws.to_table(["image_bytes", "width", "height", "mode"],
                         [("source", "==", "real")])
    digits = digits.take(np.arange(n) % digits.num_rows)
    rows = digits.append_column("sample_id", pa.array([text_id(tag, str(i)) for i in range(n)]))
    base = {"source": "synthetic", "split": "train", "generator": "test.copy",
            "generator_version": "1", "config_hash": tag}
    for name, values in {**base, **columns}.items():
        rows = rows.append_column(name, pa.array(values if isinstance(values, list)
                                                 else [values] * n))
    ws.append_samples(rows)


def _embed(ws) -> None:
    from curator.embed import PixelEmbedder, embed_workspace

    embed_workspace(ws, PixelEmbedder(size=8, n_components=4), name="pixels")


def test_awkward_workspaces_get_a_report_that_says_what_it_skipped(tmp_path):
    # Real digits, synthetic objects only (no shared label), with an ablation series.
    ws = init_workspace(tmp_path / "disjoint")
    ingest(ws, read_digits(60))
    _copy_of_digits(ws, 40, "objects", label=["chair", "table"] * 20, gen_recipe="objects",
                    gen_ablated=["none", "lighting"] * 20)
    _embed(ws)
    doc = build_report(ws, ReportConfig(n_boot=5, n_permutations=20))
    assert "share no label" in doc.section("Real vs synthetic gap").skipped
    assert "no ablation series" in doc.section("Ablations and experiments").skipped
    assert "<svg" in doc.to_html()
    # Five of each side: too few to compare, said instead of a crash.
    tiny = init_workspace(tmp_path / "tiny")
    ingest(tiny, read_digits(12))
    _copy_of_digits(tiny, 5, "few", label=["0", "1", "2", "3", "4"], gen_recipe="digits")
    _embed(tiny)
    doc = build_report(tiny, ReportConfig(n_boot=5, n_permutations=20))
    assert "too few samples to compare" in doc.section("Coverage gaps").skipped
    # Few labelled rows among many embedded ones; labels with mathtext dollars.
    sparse = init_workspace(tmp_path / "sparse")
    ingest(sparse, read_digits(6))
    _copy_of_digits(sparse, 4, "dollar", label=["$5", "cost $5 or $6"] * 2)
    _copy_of_digits(sparse, 40, "unlabelled", label=[None] * 40)
    _embed(sparse)
    doc = build_report(sparse, ReportConfig(n_boot=5, n_permutations=20))
    page = doc.to_html()
    assert "cost $5 or $6" in page and "only 10 labelled samples" in page


def test_targets_read_numbers_and_text_as_written(report_ws):
    doc = build_report(report_ws, ReportConfig(sections=("coverage",), n_boot=5, targets=(
        "label=3", "gen_recipe=digits3d,light_count=4"), target_count=1000))
    table = doc.section("Coverage gaps").results[-1].tables["targets"].set_index("target")
    rows = report_ws.to_pandas(["label"])
    assert table.loc["label=3", "samples_inside"] == (rows.label == "3").sum() > 0
    by_reason = {r.reason.split(":")[0]: r for r in doc.requests}
    assert by_reason["target label=3"].label == "3" and by_reason["target label=3"].values == {}
    light = by_reason["target gen_recipe=digits3d,light_count=4"]
    assert light.recipe == "digits3d" and light.ranges == {"light_count": (4.0, 4.0)}
    from generators.requests import request_overrides

    assert request_overrides(light) == ({"randomizers": {"lighting": {"count": [4, 4]}}}, [])
    with pytest.raises(CuratorError, match="holds text"):
        build_report(report_ws, ReportConfig(sections=("coverage",), targets=("bg_kind=1..2",)))


def test_fill_renders_two_alike_requests_as_two_batches(tmp_path):
    ws = init_workspace(tmp_path / "ws")
    path = tmp_path / "requests.json"
    alike = {"n": 3, "label": "7", "recipe": "digits3d"}
    path.write_text(json.dumps([alike, {**alike, "ranges": {"visibility": [0.5, 1]}}]))
    out = _invoke("fill", path, "-w", ws.root, "--workers", "1").output
    assert out.count("3 written") == 2
    assert len(open_workspace(ws.root).to_pandas(["label"])) == 6
    assert out.count("0 written") == 0
    again = _invoke("fill", path, "-w", ws.root, "--workers", "1").output
    assert again.count("0 written") == 2  # re-running resumes: nothing twice


def test_synthetic_rows_without_a_recipe_are_analysed_as_their_own_group(tmp_path):
    ws = init_workspace(tmp_path / "ws")
    ingest(ws, read_digits(20))
    _copy_of_digits(ws, 60, "recipe", label=[str(i % 2) for i in range(60)],
                    gen_recipe="planted", bg_kind=["flat", "texture", "gradient"] * 20)
    _copy_of_digits(ws, 200, "bare", label=[str(i % 2) for i in range(200)],
                    gen_recipe=[None] * 200,
                    bg_kind=["texture" if i % 2 else "flat" for i in range(200)])
    doc = build_report(ws, ReportConfig(sections=("bias",)))
    results = {r.title: r for r in doc.section("Bias and confounders").results}
    bare = [r for t, r in results.items() if t.endswith("synthetic without a recipe")]
    assert len(bare) == 1, list(results)
    assert bare[0].finding("confounder", "bg_kind") is not None
    planted = [r for t, r in results.items() if t.endswith("recipe planted")]
    assert planted and planted[0].finding("confounder", "bg_kind") is None


def test_recipe_groups_hold_the_main_synthetic_set_only():
    """Ablation variants, oversampling renders and augmented copies stay out of the
    per-recipe groups (the experiments' synthetic candidates are the same rows)."""
    import pandas as pd

    from reports.build import _recipe_groups

    frame = pd.DataFrame({
        "sample_id": [f"s{i}" for i in range(6)],
        "source": ["real", "synthetic", "synthetic", "synthetic", "synthetic", "augmented"],
        "gen_recipe": [None, "digits3d", "digits3d", "digits3d", "digits3d", "digits3d"],
        "gen_ablated": [None, "none", "lighting", "none", "", "none"],
        "oversample_kind": [None, None, None, "interpolate", None, None]})
    groups = dict(_recipe_groups(frame))
    assert list(groups) == ["real", "recipe digits3d"]
    assert groups["recipe digits3d"]["sample_id"].tolist() == ["s1", "s4"]


def test_report_document_round_trips_through_its_json(report_ws, tmp_path):
    from reports.document import ReportDocument, Section

    doc = build_report(report_ws, ReportConfig(n_boot=10, sections=("balance", "gap")))
    back = ReportDocument.from_dict(doc.to_dict())
    assert back.to_dict() == doc.to_dict()
    (tmp_path / "report.json").write_text(doc.to_json())
    loaded = ReportDocument.load(tmp_path / "report.json")
    assert loaded.to_json() == doc.to_json()
    section = doc.sections[0]
    assert Section.from_dict(section.to_dict()).to_dict() == section.to_dict()
    frame = doc.to_frame()
    assert list(frame.columns) == ["section", "kind", "subject", "severity", "message"]
    assert len(frame) == len(doc.findings()) and len(section.to_frame()) <= len(frame)
