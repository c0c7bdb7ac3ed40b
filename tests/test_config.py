"""The crawl config (crawler/config.py): keys of design.md, clear errors."""

from __future__ import annotations

import pytest

from crawler.config import ConfigError, load_config, parse_config, parse_revisit_steps

GOOD = """
[crawl]
contact = "mailto:archive@example.org"
delay_secs = 2

[[source]]
name = "dawn"
feeds = ["https://www.dawn.com/feeds/home"]
sitemaps = ["https://www.dawn.com/robots.txt"]
start_urls = ["https://www.dawn.com/latest-news"]
allow = ['/news/\\d+']
deny = ['/live/']
depth = 2
since_days = 3
timezone = "Asia/Karachi"

[source.extract]
include = "div.story__content"
exclude = [".related", "aside"]
"""


def test_good_config():
    config = parse_config(GOOD)
    (source,) = config.sources
    assert source.name == "dawn" and source.depth == 2 and source.since_days == 3.0
    assert source.hosts == {"www.dawn.com"}
    assert source.wants("https://www.dawn.com/news/1234/story")
    assert not source.wants("https://www.dawn.com/news/1234/live/")
    assert not source.wants("https://www.dawn.com/sport/x")
    assert source.extract.exclude == (".related", "aside")
    assert config.contact == "mailto:archive@example.org" and config.delay_secs == 2.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not toml [", "not valid TOML"),
        ("[crawl]\n", "no [[source]]"),
        ('[[source]]\nname = "a"\n', "at least one of feeds"),
        ('[[source]]\nname = "a b"\nfeeds = ["http://x.example/f"]', "name must be"),
        ('[[source]]\nname = "a"\nfeeds = ["ftp://x.example/f"]', "not an http(s) URL"),
        ('[[source]]\nname = "a"\nfeeds = ["http://x.example/f"]\nallow = ["("]', "invalid regular expression"),
        ('[[source]]\nname = "a"\nfeeds = ["http://x.example/f"]\ndepth = -1', "depth must be"),
        ('[[source]]\nname = "a"\nfeeds = ["http://x.example/f"]\ntimezone = "Mars/Base"', "unknown timezone"),
        ('[[source]]\nname = "a"\nfeeds = ["http://x.example/f"]\nfeed = ["x"]', "unknown key(s) feed"),
        ('[[source]]\nname = "a"\nfeeds = ["http://x.example/f"]\n[source.extract]\ninclude = "div[["', "invalid CSS selector"),
        ('[[source]]\nname = "a"\nfeeds = ["http://x.example/f"]\n[[source]]\nname = "a"\nfeeds = ["http://x.example/g"]', "used twice"),
        ('[crawl]\nrevisit_steps = ["1d=1h", "3h=5m"]\n[[source]]\nname = "a"\nfeeds = ["http://x.example/f"]', "shortest age"),
        # a check time beyond the year 9999 overflowed the schedule of every capture, which was lost
        ('[crawl]\nrevisit_steps = ["*=999999999d"]\n[[source]]\nname = "a"\nfeeds = ["http://x.example/f"]', "'999999999d' is over 100 years"),
        ('[crawl]\nuser_agent = "/2.0 (+mailto:x@example.org)"\n[[source]]\nname = "a"\nfeeds = ["http://x.example/f"]',
         "user_agent must start with a product name"),
        # a delay of inf (or 1e308) made a crawl wait for ever; nan passed every bound
        ('[crawl]\ndelay_secs = inf\n[[source]]\nname = "a"\nfeeds = ["http://x.example/f"]', "delay_secs must be a number from 0 to 3600 (got inf)"),
        ('[crawl]\ndelay_secs = nan\n[[source]]\nname = "a"\nfeeds = ["http://x.example/f"]', "delay_secs must be a number from 0 to 3600 (got nan)"),
        ('[crawl]\ndelay_secs = 1e308\n[[source]]\nname = "a"\nfeeds = ["http://x.example/f"]', "delay_secs must be a number from 0 to 3600"),
        ('[[source]]\nname = "a"\nfeeds = ["http://x.example/f"]\nsince_days = nan', "since_days must be a number >= 0 (got nan)"),
        # a line break would end the User-Agent header early (Twisted folds it when sending)
        ('[crawl]\nuser_agent = "mybot/1.0\\r\\nX-Evil: 1"\n[[source]]\nname = "a"\nfeeds = ["http://x.example/f"]',
         "user_agent must be one line of text without control characters"),
        ('[crawl]\ncontact = "mailto:a@example.org\\n"\n[[source]]\nname = "a"\nfeeds = ["http://x.example/f"]',
         "contact must be one line of text without control characters"),
    ],
)
def test_bad_config_says_what_is_wrong(text, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        parse_config(text, "sources.toml")


def test_a_warc_file_in_a_missing_folder_is_a_config_error(tmp_path):
    """It crashed the crawl when the WARC pipeline opened it; ``check`` now says so."""
    text = '[crawl]\nwarc = "{}"\n[[source]]\nname = "a"\nfeeds = ["http://x.example/f"]'
    config = tmp_path / "sources.toml"
    config.write_text(text.format("no/such/folder/crawl.warc.gz"))
    with pytest.raises(ConfigError, match=f"the folder {tmp_path / 'no' / 'such' / 'folder'} does not exist"):
        load_config(config)
    (tmp_path / "warcs").mkdir()
    config.write_text(text.format("warcs"))
    with pytest.raises(ConfigError, match="warc 'warcs' is a folder"):
        load_config(config)
    config.write_text(text.format("crawl.warc.gz"))
    assert load_config(config).warc == str(tmp_path / "crawl.warc.gz")


def test_a_config_saved_with_a_byte_order_mark_is_read(tmp_path):
    config = tmp_path / "sources.toml"
    config.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    assert load_config(config).sources[0].name == "dawn"


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "absent.toml")


def test_revisit_steps():
    assert parse_revisit_steps(["3h=15m", "1d=30m", "*=7d"]) == [(10800.0, 900.0), (86400.0, 1800.0), (None, 604800.0)]
