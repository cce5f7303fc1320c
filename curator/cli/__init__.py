"""The ``curator`` command line: the ``curator`` app, its commands registered from the
``cli_*`` modules in the order ``--help`` lists them, and the console-script entry point.

Every command has ``--help``; errors from the core print as one clear line and exit 2.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from curator.cli import workspace as cli_workspace
from curator.cli.common import console, err_console
from curator.cli.demo import register as register_demo_command
from curator.cli.experiment import register as register_experiment_command
from curator.cli.generate import register as register_generate_commands
from curator.cli.ingest import register as register_ingest_commands
from curator.cli.manifest import register as register_manifest_command
from curator.cli.oversample import register as register_oversample_command
from curator.cli.report import register as register_report_command
from curator.cli.select import register as register_analysis_commands
from curator.cli.serve import register as register_app_command
from curator.cli.tune import register as register_tune_command
from curator.version import __version__

app = typer.Typer(
    name="curator",
    help="Curate ML training data that mixes real and synthetic samples.\n\n"
         "Start with `curator init WS`, then `curator ingest ... -w WS`, then `curator info WS`.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        console.print(f"curator {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """curator: see what your data covers, where it is biased, and how far synthetic is from
    real."""


# `curator --help` lists commands in the order they are registered (groups after them).
register_ingest_commands(app)
for command in (cli_workspace.init, cli_workspace.info, cli_workspace.show,
                cli_workspace.rejects):
    app.command()(command)
register_generate_commands(app)
app.command()(cli_workspace.doctor)
register_demo_command(app)
register_analysis_commands(app)
register_report_command(app)
register_oversample_command(app)
register_experiment_command(app)
register_tune_command(app)
register_app_command(app)
register_manifest_command(app)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        err_console.print("interrupted; re-run the same command to resume")
        sys.exit(130)


if __name__ == "__main__":
    main()
