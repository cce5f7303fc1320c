"""``python -m curator.cli``: the same entry point as the ``curator`` command."""

from curator.cli import main

main()
