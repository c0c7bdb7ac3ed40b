"""The SQLite archive: schema (migrations), writes, queries, the CLI and Datasette metadata.

This package is the only code that writes SQL. Everything reaches it through
:class:`archive.database.Archive`.
"""

from __future__ import annotations

__version__ = "0.1.0"
