"""The fixed split of the shared sites (benchmarks/split.py)."""

from benchmarks.split import half_of, site_of


def test_site_is_the_host_without_www():
    assert site_of("https://WWW.Example.com/a/b?x=1") == "example.com"
    assert site_of(None, "readability-testpages/webmd-2") == "webmd"


def test_every_page_of_a_site_falls_in_the_same_half():
    assert half_of("https://www.example.com/one") == half_of("http://example.com/two")
    assert half_of(None, "webmd-1") == half_of(None, "webmd-2")


def test_the_split_is_fixed():
    # SHA-256("example.com") starts with 0xa3: odd, the check half (a pinned value)
    assert half_of("https://example.com/") == "check"
    assert {half_of(f"https://site{i}.example/") for i in range(20)} == {"tune", "check"}
