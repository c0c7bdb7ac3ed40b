"""Hostile pages, one per site, in one crawl through the real Scrapy engine (issue 14,
problems 4, 6 and 7; ../shared/docs/reliability.md scenarios 4, 11 and 13).

- 4: markup built to stall a parser (200,000 attributes on ``<body>``, 50,000 on one
  element, 100,000 elements) is refused on its bytes, 1,000 levels of nesting on its
  tree, ``too_complex``, raw kept;
- 6: charsets as browsers read them (UTF-16 without a byte-order mark in both byte orders,
  a ``<meta>`` naming UTF-16 or UTF-32 on UTF-8 bytes);
- 7: a body without Content-Length on a connection the server holds open is kept after
  the timeout, flagged ``partial`` when its document does not end.
"""

from __future__ import annotations

import pytest

from tests.battery import CHARSET_TEXT, page_battery

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def battery(tmp_path_factory):
    return page_battery(tmp_path_factory.mktemp("pages"))


def test_the_crawl_survives_every_page(battery):
    assert battery.run.crash_signs() == [], battery.run.stderr[-2000:]
    assert [c["outcome"] for c in battery.run.captures(battery.urls["story"])] == ["new"]


@pytest.mark.scenario(13)
@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("attributes_bomb", "an element with over 1000 attributes"),
        ("attributes_50k", "an element with over 1000 attributes"),
        ("deep_nesting", "elements nested over 200 levels deep"),
        ("nested_100k", "over 30000 elements"),  # 100,000 divs: refused on its bytes, before nesting is read
        ("unclosed", "over 30000 elements"),
    ],
)
def test_issue14_4_complex_markup_is_refused_on_its_bytes_and_kept_raw(battery, case, reason):
    run, url = battery.run, battery.urls[case]
    (capture,) = run.captures(url)
    assert capture["outcome"] == "failed" and capture["body_digest"]
    failure = run.failure(url)
    assert failure["kind"] == "too_complex" and failure["message"].startswith(reason), failure
    assert failure["message"].endswith("; the raw page is kept"), failure  # the capture keeps it (body_digest)
    stored = run.rows("SELECT size FROM bodies WHERE digest = ?", [capture["body_digest"]])
    server = battery.servers[case.replace("_", "-")]
    assert stored[0]["size"] == len(server.fixtures[url[len(server.base_url):]].body)  # every byte
    assert run.snapshots_of(url) == []
    assert run.stats()["archive/too_complex"] == 6  # these five and the 15 MB text node (test_r13_...)


@pytest.mark.scenario(13)
def test_issue14_4_no_page_holds_the_crawl(battery):
    # about 60 s were spent parsing the attributes bomb alone on the reactor before the guard;
    # the two open connections wait out DOWNLOAD_TIMEOUT (1 s) each, in parallel
    assert battery.run.seconds < 60, battery.run.seconds


@pytest.mark.scenario(11)
@pytest.mark.parametrize(
    ("case", "encoding"),
    [("utf16be_no_bom", "utf-16-be"), ("utf16le_no_bom", "utf-16-le"), ("meta_utf16_on_utf8", "utf-8"), ("meta_utf32_on_utf8", "utf-8")],
)
def test_issue14_6_charsets_as_browsers_read_them(battery, case, encoding):
    run, url = battery.run, battery.urls[case]
    (capture,) = run.captures(url)
    assert capture["outcome"] == "new", run.failures().get(url)
    (snapshot,) = run.snapshots_of(url)
    assert CHARSET_TEXT in snapshot["text"]
    assert capture["encoding"] == encoding


@pytest.mark.scenario(4)
def test_issue14_7_a_whole_page_on_a_connection_left_open_is_kept(battery):
    run, url = battery.run, battery.urls["open_whole"]
    (capture,) = run.captures(url)
    assert (capture["outcome"], capture["flag"]) == ("new", None)  # its document ends: a normal capture
    (hit,) = battery.hits("open_whole")
    assert hit.status == 200 and hit.ended - hit.time < 3  # the client left after DOWNLOAD_TIMEOUT, once
    assert "harbour" in run.snapshots_of(url)[0]["text"]
    assert run.stats()["downloader/kept_on_timeout"] == 2


@pytest.mark.scenario(4)
def test_issue14_7_a_cut_page_on_a_connection_left_open_is_kept_flagged_partial(battery):
    run, url = battery.run, battery.urls["open_cut"]
    (capture,) = run.captures(url)
    assert (capture["outcome"], capture["flag"], capture["article_id"]) == ("flagged", "partial", None)
    (hit,) = battery.hits("open_cut")
    body = run.rows("SELECT size FROM bodies WHERE digest = ?", [capture["body_digest"]])
    assert body and 0 < body[0]["size"] < hit.sent  # what arrived (the headers not counted)
    assert run.snapshots_of(url) == [] and url not in run.failures()
