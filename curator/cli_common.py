"""Shared pieces of the command line: consoles, error handling, progress bars, options.

Every command turns a :class:`CuratorError` into one red line and exit status 2.
"""

from __future__ import annotations

import ast
import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from curator.errors import CuratorError

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

WorkspaceOpt = Annotated[
    Path,
    typer.Option("--workspace", "-w", envvar="CURATOR_WORKSPACE",
                 help="Workspace directory (or set CURATOR_WORKSPACE)."),
]
@contextmanager
def _errors_as_messages():
    try:
        yield
    except CuratorError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None


@contextmanager
def _progress(description: str):
    """A rich progress bar, yielded as a ``progress(done, total)`` callback."""
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TimeRemainingColumn(), console=err_console, transient=False,
        disable=not err_console.is_terminal and not os.environ.get("CURATOR_PROGRESS"),
    ) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield update


_WHERE = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s*(==|!=|<=|>=|<|>|not in|in)\s*(.+?)\s*$")


def parse_where(text: str) -> tuple[str, str, Any]:
    """``"gen_recipe == 'objects'"`` -> ``("gen_recipe", "==", "objects")``.

    The value is a Python literal (``3``, ``'real'``, ``['a', 'b']``) or else a bare word.
    """
    m = _WHERE.match(text)
    if not m:
        raise CuratorError(f"bad --where {text!r}: write COLUMN OP VALUE, e.g. "
                           "\"source == 'real'\" or \"pose_yaw_deg >= 30\" (OP: == != < <= > "
                           ">= in 'not in')")
    col, op, raw = m.groups()
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = raw
    if op in ("in", "not in") and not isinstance(value, (list, tuple, set)):
        raise CuratorError(f"bad --where {text!r}: '{op}' needs a list like ['a', 'b']")
    return col, op, value


def parse_wheres(texts: list[str] | None) -> list[tuple[str, str, Any]] | None:
    return [parse_where(t) for t in texts] if texts else None
