"""Shared pieces of the command line: consoles, error handling, progress bars, options.

Every command turns a :class:`CuratorError` into one red line and exit status 2.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

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
def errors_as_messages():
    try:
        yield
    except CuratorError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None


@contextmanager
def progress_bar(description: str):
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
