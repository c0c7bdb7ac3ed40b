"""``python -m newsarchive`` runs the ``newsarchive`` command."""

from newsarchive.cli import cli

cli()
