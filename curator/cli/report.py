"""``curator report``: the bias, balance and real-vs-synthetic gap report as one HTML file.

Writes ``report.html`` (self-contained), ``report.json`` (the same numbers for machines)
and ``report.requests.json`` (generation requests for ``curator fill``), each atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from curator.cli.common import console, errors_as_messages, progress_bar
from curator.errors import CuratorError
from curator.fileio import atomic_write_bytes
from curator.store import open_workspace


def output_paths(out: Path) -> tuple[Path, Path, Path]:
    """``report.html`` -> (``report.html``, ``report.json``, ``report.requests.json``)."""
    if out.suffix.lower() not in (".html", ".htm"):
        raise CuratorError(f"--out {out} must end in .html (the JSON files go beside it)")
    return out, out.with_suffix(".json"), out.with_suffix(".requests.json")


def report(
    workspace: Annotated[Path, typer.Argument(envvar="CURATOR_WORKSPACE",
                                              help="Workspace directory.")],
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="HTML file to write (default: WORKSPACE/reports/report.html); "
        "report.json and report.requests.json are written beside it.")] = None,
    embedding: Annotated[str | None, typer.Option(
        "--embedding", "-e", help="Embedding for the vector-based sections (default: "
        "pixels, else the first one).")] = None,
    sections: Annotated[str | None, typer.Option(
        "--sections", help="Comma-separated subset of: balance, bias, label_quality, gap, "
        "coverage, duplicates, ablation, synthetic_helps (default: all).")] = None,
    target: Annotated[list[str] | None, typer.Option(
        "--target", "-t", help="Attribute box that should hold samples, e.g. "
        "'gen_recipe=objects,pose_yaw_deg=30..60,color_temp_k=2500..3500' (repeatable); "
        "a shortfall becomes a generation request.")] = None,
    by: Annotated[str | None, typer.Option(
        "--by", help="Extra strata for the real-vs-synthetic gap besides each label, e.g. "
        "'label,pose_yaw_deg:4' (column:N = N quantile bins).")] = None,
    target_count: Annotated[int, typer.Option(
        "--target-count", min=1, help="Samples wanted inside each --target box.")] = 20,
    n_boot: Annotated[int, typer.Option("--n-boot", min=1, help="Bootstrap resamples for "
                                        "the confidence intervals.")] = 100,
    max_samples: Annotated[int, typer.Option(
        "--max-samples", min=100, help="Per-side cap for the neighbour-based gap metrics "
        "(precision/recall/density/coverage); a seeded subsample above it.")] = 20_000,
    seed: Annotated[int, typer.Option("--seed", min=0, help="random_state of every "
                                      "analysis: same seed and data, same bytes.")] = 0,
) -> None:
    """Write the data report: balance, bias and confounders, label quality, the real vs
    synthetic gap, coverage gaps (as generation requests), duplicates and leakage, ablations.

    Example: curator report data/demo-workspace --out report.html, then open report.html
    in a browser; render what it asks for with curator fill report.requests.json -w WS.
    """
    with errors_as_messages():
        from reports.build import SECTIONS, ReportConfig, build_report

        ws = open_workspace(workspace)
        paths = output_paths(out or ws.root / "reports" / "report.html")  # checked up front
        html_path, json_path, req_path = paths
        chosen = tuple(s.strip() for s in sections.split(",") if s.strip()) if sections \
            else SECTIONS
        cfg = ReportConfig(embedding=embedding, sections=chosen, targets=tuple(target or ()),
                           by=by, target_count=target_count, n_boot=n_boot,
                           max_samples=max_samples, random_state=seed)
        with progress_bar("report sections") as progress:
            doc = build_report(ws, cfg, progress=progress)
        write_report(doc, paths)
        _print_findings(doc, per_section=8)
        console.print(f"report: {html_path} ({html_path.stat().st_size / 1e3:.0f} kB, "
                      f"{len(doc.sections)} sections); data: {json_path}; "
                      f"{len(doc.requests)} generation request(s): {req_path}", highlight=False)


def write_report(doc, paths: tuple[Path, Path, Path]) -> None:
    """The page, its JSON and its requests, each written atomically (temp file + rename)."""
    html_path, json_path, req_path = paths
    html_path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(html_path, doc.to_html().encode("utf-8"))
    atomic_write_bytes(json_path, doc.to_json().encode("utf-8"))
    atomic_write_bytes(req_path, doc.requests_json().encode("utf-8"))


def _print_findings(doc, per_section: int) -> None:
    """The key findings (alerts first, ``per_section`` per section), then skipped sections."""
    shown = doc.key_findings(per_section)
    for title, finding in shown:
        console.print(f"[{finding.severity}] {title}: {finding.kind} ({finding.subject}): "
                      f"{finding.message}", highlight=False, markup=False)
    if len(doc.findings()) > len(shown):
        console.print(f"... {len(doc.findings()) - len(shown)} more finding(s) in the report",
                      highlight=False)
    for s in doc.sections:
        if s.skipped:
            console.print(f"skipped {s.title}: {s.skipped}", highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    app.command("report")(report)


#: The demo's target shot: object scenes at yaw 30-60 deg under warm light (none rendered).
DEMO_TARGET = "gen_recipe=objects,pose_yaw_deg=30..60,color_temp_k=2500..3500"


def demo_report(ws) -> None:
    """The demo's report step: the full report with the warm side-lit target shot."""
    from reports.build import ReportConfig, build_report

    console.rule("[bold]10. report: balance, bias, label quality, real vs synthetic gap, coverage")
    with progress_bar("report sections") as progress:
        doc = build_report(ws, ReportConfig(targets=(DEMO_TARGET,)), progress=progress)
    html_path, json_path, req_path = paths = output_paths(ws.root / "reports" / "report.html")
    write_report(doc, paths)
    _print_findings(doc, per_section=2)
    console.print(f"report: {html_path} (open it in a browser; {json_path.name} beside it)\n"
                  f"{len(doc.requests)} generation request(s) in {req_path.name}: render them "
                  f"with curator fill {req_path} -w {ws.root}", highlight=False)
