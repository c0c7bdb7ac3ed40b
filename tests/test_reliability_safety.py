"""Reliability battery, data safety and security (../shared/docs/reliability.md, scenarios 21,
22, 25, 26, 28, 31, 32).

Crash drills (kill -9 at seeded points, overlapping runs, a kill in the middle of each
migration), re-running a crawl, the SSRF corpus against a canary (with its positive
controls), path traversal in exports, secrets in logs and artefacts, TLS. Disk full (24) and
clock jumps (27) need no crawl: ``tests/test_reliability_rules.py``. 23 (Datasette while a
crawl writes) and 29 (stored XSS) are tests of the web interface.
"""

from __future__ import annotations

import os

import pytest
from scrapy import Request

from archive.migrations import migrations
from tests.battery import (
    SCHEME_PAYLOADS,
    config_toml,
    idempotence_drill,
    kill_drill,
    listening_drill,
    overlap_drill,
    secrets_drill,
    source_toml,
    ssrf_battery,
    tls_drill,
    traversal_drill,
    upgrade_drill,
)

pytestmark = pytest.mark.slow

ALL_MIGRATIONS = [m.name for m in migrations._migrations]


# -- 21: kill -9 ------------------------------------------------------------------------------


@pytest.mark.scenario(21)
def test_r21_kill_9_at_seeded_points_loses_nothing_committed(tmp_path):
    """A handful of the benchmark's K = 200 points (benchmarks/reliability.py), same seed."""
    report = kill_drill(tmp_path, points=5, seed=2026, pages=30)
    assert [p["integrity"] for p in report.points] == ["ok"] * 5
    assert report.lost == 0 and report.mixed_schemas == 0
    assert sum(p["half_rows"] + p["digest_mismatches"] for p in report.points) == 0
    assert {p["phase"] for p in report.points} >= {"migration"}
    final = report.final
    assert final["returncode"] == 0 and final["integrity"] == "ok" and final["lost"] == 0
    assert final["articles"] == final["snapshots_count"] == report.pages  # every story once, no duplicates
    assert final["duplicates"] == 0 and final["half_rows"] == 0 and final["digest_mismatches"] == 0
    assert final["crawl_statuses"][-1] == "finished"
    assert set(final["crawl_statuses"][:-1]) <= {"interrupted", "finished"}


# -- 22: overlapping runs ---------------------------------------------------------------------


@pytest.mark.scenario(22)
def test_r22_five_cron_starts_one_crawl_three_unwrapped_writers_no_busy_no_duplicates(tmp_path):
    overlap = overlap_drill(tmp_path, pages=4)
    assert sorted(overlap.wrapped_codes) == [0, 3, 3, 3, 3] and overlap.wrapped_crawls == 1
    assert overlap.raw_codes == [0, 0, 0]
    assert overlap.raw_locked_messages == 0
    assert overlap.raw_articles == overlap.raw_snapshots == overlap.pages and overlap.raw_duplicates == 0


@pytest.mark.scenario(22)
def test_r22_a_run_that_finds_the_lock_taken_touches_no_archive(tmp_path):
    # the archive is created or upgraded only with the lock held: runs started together
    # never race to create it (a rare exit 4 seen once in the reliability benchmark)
    from archive.lock import ArchiveLock
    from tests.conftest import run_cli

    db = tmp_path / "new.db"
    config = tmp_path / "sources.toml"
    config.write_text(config_toml(source_toml("stories", feeds=["http://127.0.0.1:9/feed.xml"])))
    with ArchiveLock(db):
        done = run_cli("crawl", "--config", config, "--db", db, "-q", cwd=tmp_path)
    assert done.returncode == 3, done.stderr
    assert not db.exists()


# -- 24: disk full --------------------------------------------------------------------------------


# -- 25: schema upgrade -----------------------------------------------------------------------


@pytest.mark.scenario(25)
def test_r25_upgrade_keeps_rows_is_idempotent_survives_kill_9_and_refuses_newer(tmp_path):
    """Also tests/test_archive.py::test_archive_v1_upgrades_with_rows_and_hashes_intact."""
    found = upgrade_drill(tmp_path)
    assert found["identical"] and found["second_noop"] and found["second_unchanged_bytes"]
    # a kill -9 inside each migration after 0.1.0's leaves 0.1.0's schema, whole; the next open upgrades
    assert found["kills"] == len(ALL_MIGRATIONS) - 1 and found["mixed"] == 0
    assert found["after_kill_upgrades"] == found["kills"]
    assert found["newer_refused"]


# -- 27: clock jumps --------------------------------------------------------------------------


# -- 28: SSRF ---------------------------------------------------------------------------------

# Scrapy's default resolver (CachingThreadedResolver) is IPv4 only: these payloads fail even
# with the guard off, so they have no positive control (the guard refuses them anyway).
NO_CONTROL = {"ipv6_loopback", "ula"}


@pytest.fixture(scope="module")
def ssrf(tmp_path_factory):
    root = tmp_path_factory.mktemp("ssrf")
    return {
        "guarded": ssrf_battery(root / "guarded"),
        "control": ssrf_battery(root / "control", allow_private=True),
    }


@pytest.mark.scenario(28)
def test_r28_ssrf_payloads_are_refused_before_connecting(ssrf):
    guarded = ssrf["guarded"]
    assert guarded.canary_paths == []  # 0 canary hits, robots.txt included
    failures = guarded.run.failures()
    for name, url in guarded.payloads.items():
        if name != "rebind":  # pinned to its public address: fetched there (next tests)
            # recorded as the request spells it: w3lib >= 2.6 writes 127.1 or 0x7f000001 as
            # 127.0.0.1 (WHATWG URL's IPv4 parser), earlier versions keep the spelling given
            recorded = Request(url).url
            assert failures.get(recorded) == ["refused"], (name, recorded, failures.get(recorded))
    for url in SCHEME_PAYLOADS:
        assert guarded.run.value("SELECT kind FROM failures WHERE url LIKE ?", [url.split("{")[0] + "%"]) == "bad_url"
    # not one connection to a private or special address was even attempted
    assert [e for e in guarded.net if e["event"] in ("connect", "blocked") and e["to"].split(":")[0] != "93.184.215.14"] == []


@pytest.mark.scenario(28)
def test_r28_positive_control_the_same_payloads_reach_the_canary_with_the_guard_off(ssrf):
    control = ssrf["control"]
    reached = control.reached()
    assert reached == set(control.payloads) - NO_CONTROL - {"rebind"}  # rebind: its control is the next test
    failures = control.run.failures()
    assert all("host not found" in control.run.failure(control.payloads[n])["message"] for n in NO_CONTROL), failures


@pytest.mark.scenario(28)
def test_r28_dns_rebinding_is_defeated_by_pinning_the_checked_address(ssrf, tmp_path):
    guarded = ssrf["guarded"]
    lookups = [e for e in guarded.net if e["event"] == "dns" and e["name"] == "rebind.test"]
    assert len(lookups) == 1  # resolved once, checked, pinned for the page and its robots.txt
    assert "/p/rebind" not in guarded.canary_paths
    assert guarded.run.value("SELECT outcome FROM captures WHERE url = ?", [guarded.payloads["rebind"]]) == "new"
    # positive control: without Scrapy's DNS cache the connection resolves again, and rebinding works
    unpinned = ssrf_battery(tmp_path, dnscache=False, only=["rebind"])
    assert unpinned.reached() == {"rebind"}


# -- 31: path traversal -------------------------------------------------------------------------

@pytest.mark.scenario(31)
def test_r31_hostile_titles_write_nothing_outside_the_output_and_out_never_follows_a_link(tmp_path):
    found = traversal_drill(tmp_path)
    assert found["archive_exit"] == 0 and found["archived"] == found["names"]
    assert found["export_exit"] == 0 and found["outside"] == [] and not found["tmp_evil"]
    assert found["link_refusals"] == found["link_cases"] == 4  # export-warc and backup, dangling and existing links
    assert found["through_links"] == []


# -- 32: secrets and TLS ------------------------------------------------------------------------

SECRET = "CANARY-SECRET-" + os.urandom(4).hex()


@pytest.mark.scenario(32)
def test_r32_credentials_in_urls_never_reach_logs_archive_or_exports(tmp_path):
    found = secrets_drill(tmp_path, SECRET)
    assert found["archive_exit"] == 1 and "user name or password" in found["archive_says"]
    assert (found["crawl_exit"], found["config_exit"], found["export_exit"]) == (0, 2, 0)
    assert found["linked_without_credentials"]  # the feed's link followed, its credentials dropped
    assert found["occurrences"] == []


@pytest.mark.scenario(32)
def test_r32_a_running_crawl_listens_on_no_port(tmp_path):
    """Telnet console and remote control are off: a crawl opens no listening socket."""
    found = listening_drill(tmp_path)
    assert found["running"] and found["listening"] == []


@pytest.mark.scenario(32)
def test_r32_a_self_signed_certificate_is_refused_and_the_control_accepts_it(tmp_path):
    found = tls_drill(tmp_path)
    assert found["refused_exit"] == 1 and found["captures"] == 0
    # robots.txt comes first: a host whose certificate cannot be verified is unreachable (RFC 9309)
    (failure,) = found["failures"]
    assert failure["kind"] == "tls" and "TLS failed: certificate verify failed" in failure["message"], failure
    assert found["refused_hits"] and set(found["refused_hits"]) == {"(TLS handshake failed)"}  # no request got through
    assert (found["control_exit"], found["control_outcome"]) == (0, "new")


# -- 26: re-running a crawl ---------------------------------------------------------------------


@pytest.mark.scenario(26)
def test_r26_recrawl_makes_no_new_snapshot_and_one_edit_makes_exactly_one(tmp_path):
    """Also tests/test_crawling.py::test_second_run_conditional_gets_one_change_and_noise, on real pages."""
    counts = idempotence_drill(tmp_path, pages=6)
    assert (counts["first_exit"], counts["second_exit"], counts["third_exit"]) == (0, 0, 0)
    assert counts["first"] == 6
    assert (counts["second"], counts["second_304"]) == (0, 6)  # conditional GETs, all answered 304
    assert (counts["third"], counts["third_304"]) == (1, 5)  # one story changed: exactly one new version
    assert counts["conditional_gets"] == 12
