"""Reliability scenario 23: Datasette reads the archive while a crawl writes to it.

``newsarchive serve`` (mutable mode, read-only connections, never ``-i``) answers a reader
loop while the store pipeline writes 300 new stories into the same file: every answer is
a 200, the counts never go back, the writer never meets "database is locked", and the
WAL stays bounded. (``python -m benchmarks.reliability`` runs it with 1,000 writes.)
"""

from __future__ import annotations

import pytest

from tests.servers import serving
from tests.webarchive import build
from tests.webdrills import read_while_writing

pytestmark = [pytest.mark.slow, pytest.mark.scenario(23)]

WRITES = 300
MAX_WAL_BYTES = 64 * 1024 * 1024


def test_datasette_reads_while_a_crawl_writes(tmp_path):
    db = tmp_path / "news.db"
    build(db)
    with serving(db, cwd=tmp_path) as base:
        result = read_while_writing(db, base, WRITES)
    assert result["writer_error"] is None
    assert result["stored"] == WRITES
    assert result["requests"] > 20  # the reader really read during the writes
    assert result["non_200"] == 0
    assert result["went_back"] == 0
    assert result["count_after"] == result["count_before"] + WRITES
    assert 0 < result["max_wal_bytes"] < MAX_WAL_BYTES
