"""``python -m archive`` runs the ``newsarchive`` command."""

from archive.cli import cli

cli()
