"""``curator app WORKSPACE``: the Streamlit app, bound to localhost unless ``--expose``."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from curator.cli.common import console, errors_as_messages
from curator.errors import CuratorError
from curator.store import open_workspace


def app_script() -> Path:
    """The app's entry script (``app/streamlit_app.py`` of the installed package)."""
    import importlib.util

    spec = importlib.util.find_spec("app")  # located, not imported: the core never imports app
    if spec is None or not spec.submodule_search_locations:
        raise CuratorError("the app package is not installed (pip install -e .)")
    return Path(next(iter(spec.submodule_search_locations))).resolve() / "streamlit_app.py"


def app_command(workspace: Path, *, port: int = 8501, expose: bool = False) -> list[str]:
    """The ``streamlit run`` command line for ``workspace`` (address 127.0.0.1 unless
    ``expose``: then 0.0.0.0, reachable from other machines)."""
    return [sys.executable, "-m", "streamlit", "run", str(app_script()),
            "--server.address", "0.0.0.0" if expose else "127.0.0.1",
            "--server.port", str(port), "--server.headless", "true",
            "--browser.gatherUsageStats", "false", "--global.developmentMode", "false",
            "--client.toolbarMode", "minimal"]


def run_app(
    workspace: Annotated[Path, typer.Argument(envvar="CURATOR_WORKSPACE",
                                              help="Workspace directory.")],
    port: Annotated[int, typer.Option("--port", min=1, max=65535,
                                      help="Port to serve on.")] = 8501,
    expose: Annotated[bool, typer.Option(
        "--expose", help="Listen on every network interface (0.0.0.0) instead of "
        "127.0.0.1: anyone who can reach this machine can then read and change the "
        "workspace.")] = False,
) -> None:
    """Explore the data and curate real:synthetic ratios in the browser.

    Pages: Overview, Gallery, Map, Neighbours, Reports, Curate ratios, Export. The app
    serves http://127.0.0.1:PORT (this machine only) unless --expose.
    """
    with errors_as_messages():
        ws = open_workspace(workspace)  # a clear error here, not in the browser
        if not app_script().is_file():
            raise CuratorError(f"the app script is missing: {app_script()}")
        env = {**os.environ, "CURATOR_WORKSPACE": str(ws.root.resolve())}
        console.print(f"curator app on http://{'0.0.0.0' if expose else '127.0.0.1'}:{port} "
                      f"for {ws.root} (Ctrl+C stops it)", highlight=False)
    # Become the server (exec, not a child process): a signal to `curator app` stops the
    # server itself, and no Streamlit process outlives the command that started it.
    sys.stdout.flush()
    sys.stderr.flush()
    command = app_command(ws.root, port=port, expose=expose)
    os.execve(command[0], command, env)


def register(app: typer.Typer) -> None:
    app.command("app")(run_app)
