"""The report document: sections of analysis results as one self-contained HTML page + JSON.

No network fetches: styles are inline, figures inline SVG, no scripts. The same sections
render inline in Jupyter (``_repr_html_``).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from curator.requests import GenerationRequest, requests_json
from curator.results import AnalysisResult, jsonable

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2330;
  margin:0;background:#f6f7f9}
main{max-width:1100px;margin:0 auto;padding:24px 32px 64px;background:#fff}
h1{font-size:26px;margin:8px 0 4px}h2{font-size:20px;margin-top:40px;
  border-bottom:2px solid #dde2ea;padding-bottom:4px}
h3{font-size:16px;margin-top:24px}h4{font-size:14px;margin:18px 0 6px;color:#3b4456}
.meta{color:#5b6478;margin:0 0 16px}
nav.toc{background:#f1f4f8;border:1px solid #dde2ea;padding:10px 18px;margin:16px 0}
nav.toc ol{margin:4px 0;padding-left:22px}
table.dataframe{border-collapse:collapse;font-size:12.5px;margin:6px 0 12px;
  display:inline-block;max-width:100%;overflow-x:auto;border:none}
table.dataframe th,table.dataframe td{border:1px solid #dde2ea;padding:3px 8px;text-align:right}
table.dataframe th{background:#f1f4f8}
ul.findings{padding-left:20px}ul.findings li{margin:3px 0}
ul.findings li.alert{color:#a3161a}ul.findings li.warning{color:#8a5a00}
ul.findings li.info{color:#1d4e89}
p.intro{color:#3b4456}p.note{color:#5b6478;font-size:12.5px}
p.skipped{color:#8a5a00;font-style:italic}
figure{margin:8px 0}figure svg{max-width:100%;height:auto}
"""


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


@dataclass
class Section:
    """One chapter of the report: a title, a sentence on what it answers, its results."""

    title: str
    intro: str = ""
    results: list[AnalysisResult] = field(default_factory=list)
    skipped: str | None = None  # why the section could not run on this workspace

    @property
    def anchor(self) -> str:
        return slug(self.title)

    def to_html(self, max_rows: int = 20) -> str:
        parts = [f"<section id='{self.anchor}'><h2>{html.escape(self.title)}</h2>"]
        if self.intro:
            parts.append(f"<p class='intro'>{html.escape(self.intro)}</p>")
        if self.skipped:
            parts.append(f"<p class='skipped'>Skipped: {html.escape(self.skipped)}</p>")
        parts += [r.to_html(max_rows=max_rows) for r in self.results]
        parts.append("</section>")
        return "\n".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "anchor": self.anchor, "intro": self.intro,
                "skipped": self.skipped, "results": [r.to_dict() for r in self.results]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Section:
        """Rebuild a section from :meth:`to_dict` (tables as saved; no figures)."""
        return cls(title=data["title"], intro=data.get("intro", ""),
                   results=[AnalysisResult.from_dict(r) for r in data.get("results", [])],
                   skipped=data.get("skipped"))

    def to_frame(self) -> pd.DataFrame:
        """One row per finding of this section's results."""
        return _findings_frame([(self.title, f) for r in self.results for f in r.findings])

    def _repr_html_(self) -> str:
        return self.to_html()


@dataclass
class ReportDocument:
    """The whole report. ``to_html()`` is a standalone page; ``to_dict()`` its JSON twin."""

    title: str
    meta: dict[str, Any] = field(default_factory=dict)
    sections: list[Section] = field(default_factory=list)
    requests: list[GenerationRequest] = field(default_factory=list)

    def section(self, title: str) -> Section:
        for s in self.sections:
            if s.title == title or s.anchor == slug(title):
                return s
        raise KeyError(f"no section {title!r}; sections: {[s.title for s in self.sections]}")

    def findings(self) -> list[tuple[str, Any]]:
        """Every finding with the title of its section, in report order."""
        return [(s.title, f) for s in self.sections for r in s.results for f in r.findings]

    def _meta_html(self) -> str:
        items = ", ".join(f"{html.escape(str(k))}: {html.escape(str(v))}"
                          for k, v in self.meta.items())
        return f"<p class='meta'>{items}</p>" if items else ""

    def _toc_html(self) -> str:
        entries = "".join(
            f"<li><a href='#{s.anchor}'>{html.escape(s.title)}</a>"
            + (f" <small>({sum(len(r.findings) for r in s.results)} findings)</small>"
               if any(r.findings for r in s.results) else "") + "</li>"
            for s in self.sections)
        return f"<nav class='toc'><b>Contents</b><ol>{entries}</ol></nav>"

    def key_findings(self, per_section: int = 4) -> list[tuple[str, Any]]:
        """Alerts, then warnings, at most ``per_section`` from each section, report order."""
        rank = {"alert": 0, "warning": 1}
        out = []
        for s in self.sections:
            found = sorted((f for r in s.results for f in r.findings if f.severity in rank),
                           key=lambda f: rank[f.severity])  # stable: analysis order kept
            out += [(s.title, f) for f in found[:per_section]]
        return out

    def _key_findings_html(self) -> str:
        top = self.key_findings()
        if not top:
            return ""
        items = "".join(f"<li class='{html.escape(f.severity)}'>{html.escape(t)}: "
                        f"<b>{html.escape(f.kind)}</b> ({html.escape(f.subject)}): "
                        f"{html.escape(f.message)}</li>" for t, f in top)
        total = len(self.findings())
        more = (f"<p class='note'>{total - len(top)} more finding(s) in the sections below."
                "</p>") if total > len(top) else ""
        return (f"<section id='key-findings'><h2>Key findings</h2>"
                f"<ul class='findings'>{items}</ul>{more}</section>")

    def body_html(self, max_rows: int = 20) -> str:
        return "\n".join([f"<h1>{html.escape(self.title)}</h1>", self._meta_html(),
                          self._toc_html(), self._key_findings_html()]
                         + [s.to_html(max_rows) for s in self.sections])

    def to_html(self, max_rows: int = 20) -> str:
        """A complete, self-contained HTML page (inline CSS and SVG, no scripts, no links
        outside the page)."""
        return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
                f"<title>{html.escape(self.title)}</title>"
                "<meta name='viewport' content='width=device-width, initial-scale=1'>"
                f"<style>{CSS}</style></head><body><main>\n{self.body_html(max_rows)}\n"
                "</main></body></html>\n")

    def _repr_html_(self) -> str:  # no page CSS: the notebook styles its own output
        return f"<div class='curator-report'>{self.body_html()}</div>"

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "meta": jsonable(self.meta),
                "sections": [s.to_dict() for s in self.sections],
                "requests": [r.to_dict() for r in self.requests]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReportDocument:
        """Rebuild a report from :meth:`to_dict` (its ``report.json``: tables as saved, no
        figures)."""
        return cls(title=data["title"], meta=dict(data.get("meta", {})),
                   sections=[Section.from_dict(s) for s in data.get("sections", [])],
                   requests=[GenerationRequest.from_dict(r, where=f"request {i}")
                             for i, r in enumerate(data.get("requests", []))])

    @classmethod
    def load(cls, path: str | Path) -> ReportDocument:
        """Read a saved ``report.json`` (what :meth:`to_json` wrote)."""
        return cls.from_dict(json.loads(Path(path).read_text()))

    def to_frame(self) -> pd.DataFrame:
        """One row per finding, with its section, in report order."""
        return _findings_frame(self.findings())

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, sort_keys=False, allow_nan=False) + "\n"

    def requests_json(self) -> str:
        return requests_json(self.requests)


def _findings_frame(found: list[tuple[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame([{"section": t, "kind": f.kind, "subject": f.subject,
                          "severity": f.severity, "message": f.message} for t, f in found],
                        columns=["section", "kind", "subject", "severity", "message"])


def saved_findings(path: Path, *, severities: tuple[str, ...] = ("alert", "warning"),
                   limit: int = 12) -> list[dict[str, Any]]:
    """Findings of a saved ``report.json`` (section title added), alerts first."""
    doc = json.loads(Path(path).read_text())
    rank = {s: i for i, s in enumerate(severities)}
    found = [{"section": s["title"], **f} for s in doc.get("sections", [])
             for r in s.get("results", []) for f in r.get("findings", [])
             if f.get("severity") in rank]
    return sorted(found, key=lambda f: rank[f["severity"]])[:limit]
