"""The example notebook runs headlessly, top to bottom, and shows each section inline."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "reports" / "example.ipynb"


def test_example_notebook_executes_and_renders_every_section(report_ws, monkeypatch):
    monkeypatch.setenv("CURATOR_WORKSPACE", str(report_ws.root))
    monkeypatch.setenv("PYTHONPATH", str(NOTEBOOK.parents[1]) + os.pathsep
                       + os.environ.get("PYTHONPATH", ""))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    # Raises CellExecutionError (with the cell and traceback) on any error.
    NotebookClient(nb, timeout=240, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parents[1])}}).execute()
    html_outputs = [o["data"]["text/html"] for c in nb.cells if c.cell_type == "code"
                    for o in c.get("outputs", []) if "text/html" in o.get("data", {})]
    joined = "\n".join(html_outputs)
    for title in ("Balance", "Bias and confounders", "Label quality", "Real vs synthetic gap",
                  "Coverage gaps", "Duplicates and leakage", "Ablations and experiments"):
        assert f">{title}</h2>" in joined, title
    assert joined.count("<svg") >= 5
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []
