"""crawler-commons' sitemap tests, ported as a peer suite run through real crawls.

Source: crawler-commons/crawler-commons (Apache-2.0), commit 8e14e27, in
``../shared/data/peer-suites/crawler-commons/``: the files of
``src/test/resources/sitemaps/`` and the sitemaps written inline in
``src/test/java/crawlercommons/sitemaps/`` (``SiteMapParserTest``,
``SiteMapParserExtensionTest``, ``SiteMapCrossSubmitValidatorTest``). Each :class:`Case`
names the Java test it comes from, the sitemap's URL and body as that test gives them, and
the URLs the Java test says the parser yields (``java``): article URLs for a urlset, child
sitemaps for an index. The case's URLs are ported, not the parser: every origin a case
names (``http://www.example.com``, ``https://blog.example.com``, ...) becomes a
:class:`tests.hostile.HostileServer` on a loopback address of its own, the URLs are
rewritten to it, one ``scrapy crawl news`` reads every case's sitemap (one source per case),
and the servers' request logs say what the crawl fetched.

Where newsarchive differs from the Java test, ``expect`` says what it does and ``why``:
either sitemaps.org decides the case (``<loc>`` is required; an index lists sitemaps of its
own site; a sitemap is well-formed XML) where the Java test turns on one of crawler-commons'
lenient options, or sitemaps.org does not decide it (which of two Atom links is the entry's).
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass, field

from tests.pages import SHARED

PEER = SHARED / "data" / "peer-suites" / "crawler-commons"
RESOURCES = PEER / "src" / "test" / "resources" / "sitemaps"
NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
#: XML namespaces name these hosts; nothing is ever fetched from them
NAMESPACE_HOSTS = ("www.sitemaps.org", "www.google.com", "www.w3.org", "purl.org")
ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(?::\d+)?")


@dataclass
class Case:
    """One sitemap of crawler-commons' tests.

    Attributes:
        test: the Java test (``Class.method``, with a sub-case after ``/``).
        url: the sitemap's URL in the test.
        body: the sitemap's bytes.
        content_type: the Content-Type the test gives it (``None``: none).
        java: the URLs the Java test says the sitemap yields, or ``None`` when no Java test
            reads the file (then ``expect`` is the file's own list).
        expect: newsarchive's URLs where they differ from ``java``.
        why: the reason for a difference.
        failure: the failure kind recorded for the sitemap (``bad_sitemap``,
            ``sitemap_skipped``, ``bad_url``), or ``None``.
        location_rule: the source's ``sitemap_location_rule``.
        robots: origin -> robots.txt body (a ``Sitemap:`` line cross-submits).
        entry: what the source lists, when not the sitemap itself (a robots.txt URL).
    """

    test: str
    url: str
    body: bytes
    content_type: str | None
    java: set[str] | None
    expect: set[str] | None = None
    why: str = ""
    failure: str | None = None
    location_rule: bool = True
    robots: dict[str, str] = field(default_factory=dict)
    entry: str | None = None

    @property
    def expected(self) -> set[str]:
        return self.expect if self.expect is not None else set(self.java or ())


def resource(name: str) -> bytes:
    return (RESOURCES / name).read_bytes()


def locs(body: bytes) -> set[str]:
    """The ``<loc>`` of each ``<url>`` (the extension files' own lists)."""
    return {m.strip().replace("&amp;", "&") for m in re.findall(r"<loc>\s*([^<]+?)\s*</loc>", body.decode())}


# SiteMapParserTest.SITEMAP_URLS and getXMLSitemapAsBytes()
SITEMAP_URLS = [
    ("http://www.example.com/", "2005-01-01", "monthly", "0.8"),
    ("http://www.example.com/catalog?desc=vacation_hawaii&amp;item=12", None, "weekly", None),
    ("http://www.example.com/catalog?desc=vacation_new_zealand&amp;item=73", "2004-12-23", "weekly", None),
    ("http://www.example.com/catalog?desc=vacation_newfoundland&amp;item=74", "2004-12-23T18:00:15&#43;00:00", None, "0.3"),
    ("http://www.example.com/catalog?desc=vacation_usa&amp;item=83", "2004-11-23", None, None),
]
FIVE = {u[0].replace("&amp;", "&") for u in SITEMAP_URLS}


def xml_sitemap(prefix: str = "") -> str:
    parts = [prefix, '<?xml version="1.0" encoding="UTF-8"?>\n', f"<urlset {NS}>\n"]
    for loc, lastmod, changefreq, priority in SITEMAP_URLS:
        parts.append(f" <url>\n  <loc>{loc}</loc>\n")
        parts += [f"  <{tag}>{value}</{tag}>\n" for tag, value in (("lastmod", lastmod), ("changefreq", changefreq), ("priority", priority)) if value]
        parts.append(" </url>\n")
    return "".join(parts) + "</urlset>"


def _cases() -> list[Case]:
    do_not_visit = RESOURCES / "do-not-visit.txt"  # what an XXE or XInclude would read
    xml = xml_sitemap()
    two_txt = b"http://www.example.com/catalog?item=1\nhttp://www.example.com/catalog?item=11"
    cases = [
        Case("SiteMapParserTest.testSitemapIndex", "http://www.example.com/sitemapindex.xml", (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex {NS}>\n'
            " <sitemap>\n  <loc>http://www.example.com/sitemap1.xml.gz</loc>\n  <lastmod><![CDATA[2004-10-01T18:23:17+00:00]]></lastmod>\n </sitemap>\n"
            "<sitemap>\n  <loc>http://www.example.com/sitemap2.xml.gz</loc>\n  <lastmod>2005-01-01</lastmod>\n </sitemap>\n"
            "<sitemap>\n  <loc>http://www.example.com/dynsitemap?date=now&amp;all=true</loc>\n  <lastmod>2004-10-01T18:23:17&#43;00:00</lastmod>\n </sitemap>\n"
            "<sitemap>\n  <loc>http://www.example.com/dynsitemap<![CDATA[?date=lastyear&all=false]]></loc>\n </sitemap>\n</sitemapindex>").encode(),
            "text/xml", {"http://www.example.com/sitemap1.xml.gz", "http://www.example.com/sitemap2.xml.gz",
                         "http://www.example.com/dynsitemap?date=now&all=true", "http://www.example.com/dynsitemap?date=lastyear&all=false"}),
        Case("SiteMapParserTest.testSitemapXXEWithDocTypeAllowed", "http://www.example.com/sitemap.xxe.xml", (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE urlset [\n  <!ENTITY test SYSTEM "file://{do_not_visit}">\n]>\n'
            f"<urlset {NS}>\n  <url>\n    <loc>http://www.example.com/visit-here</loc>\n    <lastmod>2019-06-19</lastmod>\n   </url>\n"
            "  <url>\n    <loc>&test;</loc>\n    <lastmod>2019-06-19</lastmod>\n  </url>\n</urlset>").encode(),
            "text/xml", {"http://www.example.com/visit-here"}, failure="sitemap_skipped",
            why="crawler-commons' default refuses any DOCTYPE (testSitemapXXE); newsarchive reads the sitemap with entities "
                "unexpanded and skips the <loc> that holds one, as the Java test with DOCTYPEs allowed expects"),
        Case("SiteMapParserTest.testSitemapXIncludeDisabled", "http://www.example.com/sitemap.xinclude.xml", (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset {NS}\n        xmlns:xi="http://www.w3.org/2001/XInclude">'
            "  <url>\n    <loc>http://www.example.com/visit-here</loc>\n    <lastmod>2019-06-19</lastmod>\n   </url>\n"
            f'  <url>\n    <loc><xi:include href="file://{do_not_visit}" parse="text"/></loc>\n    <lastmod>2019-06-19</lastmod>\n  </url>\n</urlset>').encode(),
            "text/xml", {"http://www.example.com/visit-here"}, failure="sitemap_skipped"),
        Case("SiteMapParserTest.testSitemapWithNamespace", "http://www.example.com/sitemap.ns.xml", resource("sitemap.ns.xml"), None,
             {"http://www.example.com/1", "http://www.example.com/2"}),
        Case("SiteMapParserTest.testSitemapWithWrongNamespace", "http://www.example.com/sitemap.badns.xml", resource("sitemap.badns.xml"), None,
             {"http://www.example.com/1", "http://www.example.com/2"},
             why="read by local name, as crawler-commons' default (non-strict namespace) mode does"),
        Case("SiteMapParserTest.testSitemapTXT", "http://www.example.com/sitemap.txt", two_txt, "text/plain",
             {"http://www.example.com/catalog?item=1", "http://www.example.com/catalog?item=11"}),
        Case("SiteMapParserTest.testSitemapTXTWithXMLExt", "http://www.example.com/sitemap.xml", two_txt, None,
             {"http://www.example.com/catalog?item=1", "http://www.example.com/catalog?item=11"}),
        Case("SiteMapParserTest.testSitemapTXTWithWrongMimeType", "http://www.example.com/sitemap.xml", two_txt, "application/bogus",
             {"http://www.example.com/catalog?item=1", "http://www.example.com/catalog?item=11"}),
        Case("SiteMapParserTest.testSitemapTXTfilterUrls", "http://www.example.com/sitemap.txt",
             b"www.example.com/catalog?item=1\nhttp://www.example.com/catalog?item=11#anchor", "text/plain",
             {"http://www.example.com/catalog?item=1", "http://www.example.com/catalog?item=11"},
             expect={"http://www.example.com/catalog?item=11"}, failure="sitemap_skipped",
             why="the Java test installs a URL normaliser that adds a missing http://; sitemaps.org asks for fully-qualified "
                 "URLs, and the line without a scheme is counted as not a URL"),
        Case("SiteMapParserTest.testSitemapXML", "http://www.example.com/sitemap.xml", xml.encode(), "text/xml", FIVE),
        Case("SiteMapParserTest.testSitemapXMLleadingWhiteSpace", "http://www.example.com/sitemap.xml",
             xml_sitemap("\ufeff\n \t\r\n").encode(), "text/xml", FIVE),
        *(Case(f"SiteMapParserTest.testSitemapXMLMediaTypes/{ct}", "http://www.example.com/sitemap.nonXmlExt", xml.encode(), ct, FIVE)
          for ct in ("text/xml", "application/x-xml", "application/xml", "application/atom+xml", "application/rss+xml")),
        Case("SiteMapParserTest.testSitemapXMLfilterUrls", "http://www.example.com/sitemap.xml",
             xml.replace("http://www.example.com/<", "www.example.com/<", 1).replace(SITEMAP_URLS[1][0], SITEMAP_URLS[1][0] + "#anchor").encode(),
             "text/xml", FIVE, expect=FIVE - {"http://www.example.com/"}, failure="bad_url",
             why="the Java test installs a URL normaliser that adds a missing http://; newsarchive drops the <loc> without a "
                 "scheme as a bad URL (sitemaps.org: fully-qualified URLs)"),
        Case("SiteMapParserTest.testSitemapParserBrokenXml", "http://www.example.com/sitemapindex.xml", (
            f'<?xml version="1.0" encoding="UTF-8"?><urlset {NS}><url><!-- This file is not a valid XML file --></url>'
            "<url><loc> http://cs.harding.edu/fmccown/sitemaps/something.html</loc></url><!-- missing opening url tag --></url></urlset>").encode(),
            "text/xml", set(), failure="bad_sitemap"),
        Case("SiteMapParserTest.testMissingLocSitemapIndexFile", "http://www.example.com/sitemap.index.xml", resource("sitemap.index.xml"), None,
             {f"https://example.com/sitemap.jss?portalCode={n}&lang=en" for n in
              (10260, 2, 10080, 10140, 10340, 10400, 10430, 10440, 10450, 10460, 10470, 10480, 10490, 10550, 10570)},
             expect=set(), failure="sitemap_skipped",
             why="sitemaps.org requires <loc> in <sitemap> (and an index lists sitemaps of its own host): the 15 bare URLs "
                 "are counted in a sitemap_skipped failure, not followed"),
    ]
    unclosed_1 = (f'<?xml version="1.0" encoding="UTF-8"?><sitemapindex> <sitemap>  <loc>https://www.example.org/sitemap1.xml</loc>'
                  "  <loc>https://www.example.org/sitemap2.xml</loc> </sitemap></sitemapindex>").encode()
    unclosed_2 = ('<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex>\n <sitemap>\n  <loc>https://www.example.org/sitemap1.xml</loc>\n'
                  "  <lastmod>2004-10-01T18:23:17+00:00</lastmod>\n  <loc>https://www.example.org/sitemap2.xml</loc>\n"
                  "  <loc>https://www.example.org/sitemap3.xml</loc>\n  <lastmod>2005-11-02T19:24:18+00:00</lastmod>\n"
                  " </sitemap>\n</sitemapindex>").encode()
    other_site = ("sitemaps.org: an index lists sitemaps of its own site; the index is on www.example.com, its sitemaps on "
                  "www.example.org (the /location-rule-off variant reads them, as crawler-commons' parser does)")
    for n, (body, children) in enumerate(((unclosed_1, 2), (unclosed_2, 3)), start=1):
        java = {f"https://www.example.org/sitemap{i}.xml" for i in range(1, children + 1)}
        cases.append(Case(f"SiteMapParserTest.testUnclosedSitemapIndexFile/{n}", "http://www.example.com/sitemapindex.xml", body, None,
                          java, expect=set(), failure="sitemap_skipped", why=other_site))
        cases.append(Case(f"SiteMapParserTest.testUnclosedSitemapIndexFile/{n}/location-rule-off", "http://www.example.com/sitemapindex.xml",
                          body, None, java, location_rule=False))
    cases += [
        Case("SiteMapParserTest.testStripUnicodeWhiteSpace", "https://www.example.com/sitemapindex.xml", (
            '<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex>\n <sitemap>\n  <loc>\n   <![CDATA[ https://www.example.com/sitemap1.xml ]]>\n'
            "  </loc>\n </sitemap>\n <sitemap>\n  <loc>\n   <![CDATA[\u00a0https://www.example.com/sitemap2.xml ]]> \u2000\n  </loc>\n"
            " </sitemap>\n</sitemapindex>").encode(), None,
            {"https://www.example.com/sitemap1.xml", "https://www.example.com/sitemap2.xml"}),
        Case("SiteMapParserTest.testSitemapGZ", "http://www.example.com/sitemap.xml.gz", resource("xmlSitemap.gz"), "application/gzip",
             locs(gzip.decompress(resource("xmlSitemap.gz")))),
        Case("SiteMapParserTest.testSitemapTextGZ", "http://www.example.com/sitemap.txt.gz", resource("sitemap.txt.gz"), "application/gzip",
             set(gzip.decompress(resource("sitemap.txt.gz")).decode().split())),
        *(Case(f"SiteMapParserTest.testSitemapGZMediaTypes/{ct}", "http://www.example.com/sitemap", resource("xmlSitemap.gz"), ct,
               locs(gzip.decompress(resource("xmlSitemap.gz"))))
          for ct in ("application/gzip", "application/x-gzip", "application/x-gunzip", "application/gzipped", "application/gzip-compressed",
                     "gzip/document")),
        Case("SiteMapParserTest.testSitemapWithInvalidContent", "http://www.example.com/sitemap", b"this is a bogus sitemap",
             "application/octet-stream", set(), failure="bad_sitemap"),
        Case("SiteMapParserTest.testLenientParser", "http://www.example.com/subsection/sitemap.xml",
             f'<?xml version="1.0" encoding="UTF-8"?><urlset {NS}><url><loc>http://www.example.com/</loc></url></urlset>'.encode(),
             "text/xml", set(), failure="sitemap_skipped"),
        Case("SiteMapParserTest.testLenientParser/location-rule-off", "http://www.example.com/subsection/sitemap.xml",
             f'<?xml version="1.0" encoding="UTF-8"?><urlset {NS}><url><loc>http://www.example.com/</loc></url></urlset>'.encode(),
             "text/xml", {"http://www.example.com/"}, location_rule=False),
        Case("SiteMapParserTest.testAtomFormat", "http://example.org/atom.xml", resource("atom.xml"), None,
             {"http://example.org/2003/12/13/atom03"}, expect={"http://example.org/2003/12/13/atom03.html"},
             why="the entry has two rel=alternate links (one without a type, one text/html; RFC 4287 allows both): feedparser "
                 "takes the text/html one, crawler-commons the first; sitemaps.org does not decide"),
        Case("SiteMapParserTest.testRSS10SyndicationFormat", "http://www.example.com/sitemapindex.xml", (
            '<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"  xmlns="http://purl.org/rss/1.0/">'
            '<channel rdf:about="http://www.xml.com/xml/news.rss"><title>XML.com</title><link>http://www.example.com/pub</link>'
            '<description>example.com</description><image rdf:resource="http://www.example.com/universal/images/xml_tiny.gif" />'
            '<items><rdf:Seq><rdf:li resource="http://www.example.com/pub/2000/08/09/xslt/xslt.html" />'
            '<rdf:li resource="http://www.example.com/pub/2000/08/09/rdfdb/index.html" /></rdf:Seq></items></channel>'
            '<image rdf:about="http://www.example.com/universal/images/xml_tiny.gif"><title>XML.com</title><link>http://www.xml.com</link>'
            "<url>http://www.example.com/universal/images/xml_tiny.gif</url></image>"
            '<item rdf:about="http://www.example.com/pub/2000/08/09/xslt/xslt.html"><title>Processing Inclusions with XSLT</title>'
            "<link>http://www.example.com/pub/2000/08/09/xslt/xslt.html</link>"
            "<description>Processing document inclusions with general XML tools can be problematic. </description> </item> </rdf:RDF>").encode(),
            "text/xml", {"http://www.example.com/pub/2000/08/09/xslt/xslt.html"}),
        Case("SiteMapParserTest.testPartialSitemapsAllowed", "http://www.example.com/subsection/sitemap.xml",
             f'<?xml version="1.0" encoding="UTF-8"?><urlset {NS}><url><loc>http://www.example.com/</lo'.encode(), "text/xml", set(),
             failure="bad_sitemap", why="the Java test turns allowPartial on (and still yields no valid URL); sitemaps.org: a "
                                        "sitemap is well-formed XML, as crawler-commons' default also requires"),
        Case("SiteMapParserTest.testUrlLocUrl", "http://www.example.com/subsection/sitemap.xml", (
            f'<?xml version="1.0" encoding="UTF-8"?><urlset {NS}><url><loc><url>'
            "<![CDATA[http://jobs.optistaffing.com/EXPERIENCED-DISPATCHER-NEEDED-NOW----Jobs-in-Vancouver-WA/2333221]]>"
            "</url></loc><lastmod>2015-04-28</lastmod><changefreq>daily</changefreq></url></urlset>").encode(), "text/xml", set(),
            failure="sitemap_skipped"),
        Case("SiteMapParserTest.testPartialSitemapIndicesAllowed", "http://www.example.com/subsection/sitemap.xml",
             f'<?xml version="1.0" encoding="UTF-8"?><sitemapindex {NS}><sitemap><loc>http://www.example.com/sitemap1.xml.gz</loc><las'.encode(),
             "text/xml", {"http://www.example.com/sitemap1.xml.gz"}, expect=set(), failure="bad_sitemap",
             why="the Java test turns allowPartial on; sitemaps.org: a sitemap is well-formed XML (crawler-commons' default too)"),
        Case("SiteMapParserTest.testFileLocationValidation/catalog", "http://example.com/catalog/sitemap.xml",
             b"http://example.com/catalog/show?item=233&user=3453\nhttp://example.com/image/show?item=233&user=3453\n"
             b"https://example.com/catalog/page1.php\n", "text/plain",
             {"http://example.com/catalog/show?item=233&user=3453"}, failure="sitemap_skipped"),
        Case("SiteMapParserTest.testFileLocationValidation/query", "https://example.com/index.php?route=path/sitemap",
             b"https://example.com/catalog/page1.php\n", "text/plain", {"https://example.com/catalog/page1.php"}),
    ]
    extension = [
        ("testVideosSitemap", "http://www.example.com/sitemap-video.xml", "sitemap-videos.xml", 3),
        ("testVideosSitemapTVShow", "https://example.org/sitemap.xml", "sitemap-videos-tvshow.xml", 1),
        ("testImageSitemap", "http://www.example.com/sitemap-images.xml", "sitemap-images.xml", 1),
        ("testXHTMLLinksSitemap", "http://www.example.com/sitemap-links.xml", "sitemap-links.xml", 3),
        ("testNewsSitemap", "http://www.example.org/sitemap-news.xml", "sitemap-news.xml", 2),
        ("testMobileSitemap", "http://www.example.org/sitemap-mobile.xml", "sitemap-mobile.xml", 0),
        ("testShinpaideshouNewsSitemap", "https://shinpaideshou.wordpress.com/news-sitemap.xml", "shinpaideshou-news-sitemap.xml", 3),
        ("testHebdenbridgetimesArticlesSitemap", "http://www.hebdenbridgetimes.co.uk/sitemap-article-2015-18.xml",
         "hebdenbridgetimes-articles-sitemap.xml", 74),
        ("testPageMapsSitemap", "http://www.example.com/pagemaps-sitemap.xml", "pagemaps-sitemap.xml", 2),
    ]
    for name, url, file, count in extension:
        body = resource(f"extension/{file}")
        # the test asserts the count; its URLs are the file's (testMobileSitemap's sitemap is on
        # www.example.org and lists www.example.com: the strict parser keeps none)
        found = locs(body) if count else set()
        assert len(found) == count, (file, len(found))
        cases.append(Case(f"SiteMapParserExtensionTest.{name}", url, body, None, found, failure=None if count else "sitemap_skipped"))
    blog = b"https://blog.example.com/blog-1.html\nhttps://blog.example.com/blog-2.html"
    cases += [
        Case("SiteMapCrossSubmitValidatorTest.testValidateURLs", "https://blog.example.com/sitemap.txt", blog, "text/plain",
             {"https://blog.example.com/blog-1.html", "https://blog.example.com/blog-2.html"}),
        Case("SiteMapCrossSubmitValidatorTest.testValidateCrossSubmitHost/listed", "https://www.example.com/sitemap.txt", blog, "text/plain",
             {"https://blog.example.com/blog-1.html", "https://blog.example.com/blog-2.html"},
             robots={"https://blog.example.com": "User-agent: *\nAllow: /\nSitemap: https://www.example.com/sitemap.txt\n"},
             entry="https://blog.example.com/robots.txt"),
        Case("SiteMapCrossSubmitValidatorTest.testValidateCrossSubmitHost/not-listed", "https://www.example.com/sitemap.txt", blog,
             "text/plain", set(), failure="sitemap_skipped"),
        Case("SiteMapCrossSubmitValidatorTest.testValidateCrossSubmitSites", "https://www.example.com/sitemap.txt",
             blog + b"\nhttps://docs.example.com/index.html", "text/plain",
             {"https://blog.example.com/blog-1.html", "https://blog.example.com/blog-2.html"}, failure="sitemap_skipped",
             robots={"https://blog.example.com": "User-agent: *\nAllow: /\nSitemap: https://www.example.com/sitemap.txt\n"},
             entry="https://blog.example.com/robots.txt"),
        # files no Java test reads: the text format's own lists (sitemaps.org "Text file")
        Case("resources/sitemap.txt", "http://www.domain.com/sitemap.txt", resource("sitemap.txt"), "text/plain", None,
             expect={"http://www.domain.com/page1.html", "http://www.domain.com/page2.html"}),
        Case("resources/sitemap-with-bom.txt", "http://www.domain.com/sitemap.txt", resource("sitemap-with-bom.txt"), "text/plain", None,
             expect={"http://www.domain.com/page1.html", "http://www.domain.com/page2.html"}),
    ]
    return cases


CASES = _cases() if RESOURCES.is_dir() else []


def origins_of(case: Case, body: bytes) -> list[str]:
    """Every origin the case names (its URL, body, expectations, robots.txt), longest first."""
    text = " ".join([case.url, case.entry or "", body.decode("utf-8", "replace"), *case.expected, *(case.java or ()),
                     *case.robots, *case.robots.values()])
    found = {m for m in ORIGIN.findall(text) if m.split("://", 1)[1].lower() not in NAMESPACE_HOSTS}
    return sorted(found, key=len, reverse=True)


def plain_body(case: Case) -> bytes:
    return gzip.decompress(case.body) if case.body[:2] == b"\x1f\x8b" else case.body


__all__ = ["CASES", "Case", "PEER", "origins_of", "plain_body"]
