"""The code's layers (README, "How the code is laid out"): the import contracts of
pyproject.toml hold, and the small commands load no crawling or extraction library."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_hold():
    """archive <- crawler <- pipelines <- newsarchive, and no ring of imports inside a package
    (import-linter, with no exception listed)."""
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint, "import-linter is not installed (pip install -e '.[test]')"
    result = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "2 kept, 0 broken" in result.stdout


def test_contracts_list_no_exceptions():
    """The contracts do not work around the layers (no ``ignore_imports``)."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    assert config["contracts"], "no import contract"
    assert all("ignore_imports" not in contract for contract in config["contracts"])


PROBE = """
import json, sys
from newsarchive.cli import cli
try:
    cli(sys.argv[1:], standalone_mode=False)
except (SystemExit, Exception):  # a refused command still shows what it loaded
    pass
print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))
"""


@pytest.mark.parametrize("command", [["stats"], ["history", "http://example.com/a"], ["backup", "--out", "{out}"]])
def test_small_commands_import_neither_scrapy_nor_trafilatura(tmp_path, command):
    from archive.database import Archive

    db = tmp_path / "a.db"
    Archive.open(str(db)).close()
    args = [part.replace("{out}", str(tmp_path / "copy.db")) for part in command] + ["--db", str(db)]
    result = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=ROOT, capture_output=True, text=True)
    loaded = set(json.loads(result.stdout.strip().splitlines()[-1]))
    assert "newsarchive" in loaded and "archive" in loaded
    assert not loaded & {"scrapy", "twisted", "trafilatura", "htmldate", "lxml"}, sorted(loaded)


PIPELINES_PROBE = """
import json, pickle, sys
from scrapy.utils.misc import load_object
from crawler.settings import ITEM_PIPELINES
from pipelines.extraction import Extraction
from pipelines.extraction.dates import StatedDate
from pipelines.extraction.template import Removed
for path in ITEM_PIPELINES:
    load_object(path)
# what the crawl's process does with a worker's result
result = pickle.loads(pickle.dumps(Extraction(title="t", published=StatedDate("2024-05-02", None, "text"), removed=[Removed("body/div[1]", "fixed", "x")])))
before = sorted({m.split('.')[0] for m in sys.modules})
from pipelines.extraction import extract
after = extract("<html><body><article><h1>T</h1><p>" + "A sentence of a story. " * 20 + "</p></article></body></html>").text
print(json.dumps([before, sorted({m.split('.')[0] for m in sys.modules}), result.published.value, len(after)]))
"""


def test_the_crawl_s_own_process_loads_no_extraction_library_until_it_extracts():
    """The crawl's process hands pages to extraction workers and unpickles their results:
    its pipelines load neither trafilatura nor htmldate nor jusText (about 0.15 s at every
    start); the first extraction in the process loads them."""
    result = subprocess.run([sys.executable, "-c", PIPELINES_PROBE], cwd=ROOT, capture_output=True, text=True)
    before, after, published, text_length = json.loads(result.stdout.strip().splitlines()[-1])
    assert not set(before) & {"trafilatura", "htmldate", "justext"}, before
    assert {"trafilatura", "htmldate"} <= set(after)
    assert published == "2024-05-02" and text_length > 400


SPIDERS_PROBE = """
import json, sys
from scrapy.spiderloader import SpiderLoader
from scrapy.utils.project import get_project_settings
names = SpiderLoader.from_settings(get_project_settings()).list()
print(json.dumps([sorted(names), sorted(m for m in sys.modules if m == "redis" or m.startswith("crawler.distributed"))]))
"""


def test_loading_the_spiders_leaves_redis_to_a_distributed_worker():
    """Scrapy's spider loader imports every spider module for every command: the worker
    spider's Redis client and the distributed machinery wait until a worker starts."""
    result = subprocess.run([sys.executable, "-c", SPIDERS_PROBE], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "SCRAPY_SETTINGS_MODULE": "crawler.settings"})
    names, distributed = json.loads(result.stdout.strip().splitlines()[-1])
    assert "worker" in names and "news" in names
    assert distributed == []
