"""The README documents every command, option, config key and setting (and shows real output)."""

from __future__ import annotations

import re

from newsarchive.cli import cli
from crawler import settings
from crawler.config import CRAWL_KEYS, EXTRACT_KEYS, SOURCE_KEYS
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_starts_with_the_two_commands():
    first_block = README.split("```", 2)[1]
    assert "make demo" in first_block and "make test" in first_block


def test_every_command_and_option_is_documented():
    for name, command in cli.commands.items():
        assert f"newsarchive {name}" in README, f"command {name} missing from README"
        for param in command.params:
            for opt in param.opts:
                if opt.startswith("--"):
                    assert opt in README, f"option {opt} of {name} missing from README"


def test_every_config_key_is_documented():
    for key in CRAWL_KEYS | SOURCE_KEYS | EXTRACT_KEYS:
        assert re.search(rf"`{key}`", README), f"config key {key} missing from README"


def test_every_archive_setting_is_documented():
    for name in dir(settings):
        if name.startswith("ARCHIVE_"):
            assert f"`{name}`" in README, f"setting {name} missing from README"


def test_exit_statuses_are_documented():
    for status in ("0", "1", "2", "4"):
        assert re.search(rf"\| {status} \|", README)


def test_every_reliability_scenario_has_a_test():
    """Each of the 32 scenarios of ../shared/docs/reliability.md is marked on at least one
    test (``@pytest.mark.scenario(n)``), and the README's battery table names them all."""
    marked = set()
    for path in (ROOT / "tests").glob("test_*.py"):
        marked |= {int(n) for n in re.findall(r"pytest\.mark\.scenario\((\d+)\)", path.read_text(encoding="utf-8"))}
    assert marked == set(range(1, 33)), sorted(set(range(1, 33)) ^ marked)
    section = README.split("## Reliability and security", 1)[1].split("\n## ", 1)[0]
    listed = {int(n) for n in re.findall(r"^\| (\d+) \|", section, flags=re.MULTILINE)}
    assert listed == set(range(1, 33)), sorted(set(range(1, 33)) ^ listed)
