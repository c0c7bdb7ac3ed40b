"""Headless Chromium for the browser tests: Debian's ``chromium`` driven through its
``chromium-driver`` by Selenium (the driver always matches the browser's version).

``.ci/run`` installs both packages; where they are missing, :func:`browser_or_skip` skips
with a message that says how to install them (or fails, in CI, where
``NEWSARCHIVE_REQUIRE_BROWSER=1`` says the browser tests must run).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

CHROMIUM_NAMES = ("chromium", "chromium-browser")
DRIVER_NAMES = ("chromedriver", "chromium-driver")
# Chromium's background services try to reach Google; the machine's network is closed
FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
    "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--window-size=1280,1000",
)  # fmt: skip


def find(names: tuple[str, ...]) -> str | None:
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    return None


def browser_or_skip():
    """A started Selenium Chrome driver on Debian's chromium, or a skip (a failure in CI)."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        return _missing("selenium is not installed (pip install -e '.[test]')")
    chromium, driver = find(CHROMIUM_NAMES), find(DRIVER_NAMES)
    if not chromium or not driver:
        return _missing("Debian's chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="newsarchive-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    # the driver path is given, so Selenium Manager never downloads anything
    browser = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    browser.set_page_load_timeout(30)
    browser.newsarchive_profile = Path(profile)
    return browser


def quit_browser(browser) -> None:
    browser.quit()
    shutil.rmtree(browser.newsarchive_profile, ignore_errors=True)


def _missing(reason: str):
    if os.environ.get("NEWSARCHIVE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser tests must run here (NEWSARCHIVE_REQUIRE_BROWSER=1): {reason}")
    pytest.skip(f"browser tests skipped: {reason}")
