# newsarchive: `make demo` and `make test` set everything up themselves (a local .venv)
# on a machine with nothing but Python 3.11+.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

PYWB_STAMP := .venv-pywb/.installed
# py-wacz's validator checks the WACZ files export-warc --wacz writes (its frictionless
# and chardet stay out of the crawler's environment)
WACZ_STAMP := .venv-pywb/.wacz-installed

.PHONY: venv demo test test-fast reliability serve screenshots clean

# (Re)install when pyproject.toml changes.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

# pywb replays the exported WARC files in the tests; its pinned dependencies clash with
# Scrapy's, so it lives in a virtual environment of its own.
$(PYWB_STAMP):
	$(PYTHON) -m venv .venv-pywb
	.venv-pywb/bin/python -m pip install --quiet --upgrade pip
	.venv-pywb/bin/python -m pip install --quiet 'pywb>=2.8,<3'
	touch $(PYWB_STAMP)

$(WACZ_STAMP): $(PYWB_STAMP)
	.venv-pywb/bin/python -m pip install --quiet 'wacz>=0.5,<1'
	touch $(WACZ_STAMP)

## Crawl the bundled real pages (served offline on 127.0.0.x) into demo.db, twice.
demo: venv
	$(BIN)/python -m demo.run --db demo.db

## The whole test suite (crawls through the real Scrapy engine against loopback servers).
test: venv $(PYWB_STAMP) $(WACZ_STAMP)
	$(BIN)/python -m pytest

## The inner loop: everything but the whole-crawl tests, stop at the first failure.
test-fast: venv
	$(BIN)/python -m pytest -m "not slow" -x -q

## The reliability battery's figures (../shared/docs/reliability.md; about 11 minutes).
reliability: venv
	$(BIN)/python -m benchmarks.reliability

## Browse demo.db (made by `make demo` if missing; or DB=path) in Datasette on
## http://127.0.0.1:8001/ (or PORT=N).
serve: venv
	@test -n "$(DB)" -o -e demo.db || $(MAKE) demo
	$(BIN)/newsarchive serve --db $(or $(DB),demo.db) --port $(or $(PORT),8001)

## The README's screenshots (docs/screenshot-*.png) of demo.db, in headless Chromium.
screenshots: venv
	@test -e demo.db || $(MAKE) demo
	$(BIN)/python -m docs.screenshots --db demo.db

clean:
	rm -rf $(VENV) .venv-pywb demo/run demo.db demo.db-wal demo.db-shm demo.db.lock demo.warc.gz demo.wacz .pytest_cache newsarchive.egg-info
