"""URL rules, in one place: article identity (canonical URLs, aliases: design.md, Identity),
sites, and credentials in URLs.

The lowest layer holds them because every layer needs them: the crawler (discovery,
redirects), the pipelines (identity) and the archive (look-ups by URL, the web pages).

The canonical URL is the page's ``rel=canonical`` / ``og:url`` when it points into the
same site and is not the home page, else the final URL after redirects; then normalised:

- w3lib ``canonicalize_url``: scheme and host lower-case, query arguments sorted,
  percent-encoding made uniform, fragment dropped;
- default ports dropped (``:80`` for http, ``:443`` for https: RFC 3986 section 6.2.3),
  which w3lib keeps (``shared/cases/12-*``);
- tracking parameters dropped (``utm_*``, ``fbclid``, ``gclid``, ...), with w3lib
  ``url_query_cleaner``.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit, urlunsplit

from w3lib.url import canonicalize_url, url_query_cleaner

# Query parameters that identify a campaign, a click or a session, never a story. Kept
# to names no CMS uses for content: dropping a parameter that names the story would
# merge two stories into one article. (Short generic names such as ``cid`` or ``sid``
# are content ids on some sites, so they stay.)
TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid",
    "igshid", "mc_cid", "mc_eid", "_ga", "_gl", "_hsenc", "_hsmi", "mkt_tok", "oly_enc_id",
    "oly_anon_id", "vero_id", "wickedid", "rb_clickid", "s_cid", "cmpid", "ocid", "ito",
    "ns_mchannel", "ns_source", "ns_campaign", "ns_linkname", "ns_fee", "sr_share",
    "smid", "smtyp", "ftag", "taid", "tpcc", "soc_src", "soc_trk", "phpsessid",
    "jsessionid", "spm", "guccounter", "guce_referrer", "guce_referrer_sig", "at_medium",
    "at_campaign", "at_custom1", "at_custom2", "at_custom3", "at_custom4", "intcmp",
})
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_", "__twitter")
DEFAULT_PORTS = {"http": 80, "https": 443}
SITE_PREFIXES = ("www.", "m.", "mobile.", "amp.", "www1.", "www2.")
_JSESSIONID = re.compile(r";jsessionid=[^/?#]*", re.IGNORECASE)
_AMP_PATH = re.compile(r"(?:/amp/?$|/amp/|[?&](?:amp|outputType=amp)(?:=|&|$)|\.amp(?:\.html?)?$)", re.IGNORECASE)


def _is_tracking(name: str) -> bool:
    lower = name.lower()
    return lower in TRACKING_PARAMS or lower.startswith(TRACKING_PREFIXES)


def _drop_default_port(url: str) -> str:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return url
    if port is not None and DEFAULT_PORTS.get(parts.scheme) == port:
        netloc = parts.netloc.rsplit(":", 1)[0]
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    return url


def normalize_url(url: str) -> str:
    """Normalise a URL for identity: see the module docstring for the rules.

    >>> normalize_url("HTTP://News.Example.com:80/a?utm_source=x&b=2#top")
    'http://news.example.com/a?b=2'

    Raises:
        ValueError: the URL is not absolute http(s) with a host.
    """
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"not an absolute http(s) URL: {url!r}")
    url = _JSESSIONID.sub("", strip_credentials(url.strip()))
    url = canonicalize_url(url, keep_fragments=False)
    names = [pair.split("=", 1)[0] for pair in urlsplit(url).query.split("&") if pair]
    tracking = [n for n in names if _is_tracking(n)]
    if tracking:
        url = url_query_cleaner(url, tracking, remove=True, unique=False, keep_fragments=False)
    return _drop_default_port(url)


def strip_credentials(url: str) -> str:
    """``url`` without ``user:password@`` (as Scrapy's ``strip_url(strip_credentials=True)``;
    nothing else changes). newsarchive never sends credentials, and a URL is stored and
    logged: a discovered link, a redirect, a page's canonical link, ``og:url`` or image
    lose them. A malformed URL is returned as it is (it fails later as a bad URL)."""
    try:
        parts = urlsplit(url)
        if parts.username is None and parts.password is None:
            return url
    except ValueError:
        return url
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@")


def redact_credentials(url: str) -> str:
    """``url`` with any ``user:password@`` shown as ``***@`` (for messages and failure rows)."""
    try:
        parts = urlsplit(url)
        has_credentials = parts.username is not None or parts.password is not None
    except ValueError:
        # a malformed URL: hide whatever stands between "//" and the last "@" of its authority
        return _USERINFO.sub(r"\1***@", url)
    if not has_credentials:
        return url
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, f"***@{host}", parts.path, parts.query, parts.fragment))


def site_key(host: str) -> str:
    """The host without a leading ``www.``/``m.``/``amp.``-style label, lower-case."""
    host = host.lower().rstrip(".")
    for prefix in SITE_PREFIXES:
        if host.startswith(prefix) and host.count(".") >= 2:
            return host[len(prefix):]
    return host


def same_site(a: str, b: str) -> bool:
    """True when two URLs belong to one site: equal hosts once ``www.``/``m.``/``amp.`` are
    ignored, or one host a subdomain of the other (``in.reuters.com`` and ``reuters.com``)."""
    ha, hb = site_key(urlsplit(a).hostname or ""), site_key(urlsplit(b).hostname or "")
    if not ha or not hb:
        return False
    return ha == hb or ha.endswith("." + hb) or hb.endswith("." + ha)


def is_home_page(url: str) -> bool:
    """True for a site's root (``/``, ``/index.html`` and the like, without a query)."""
    parts = urlsplit(url)
    return not parts.query and parts.path.rstrip("/") in ("", "/index.html", "/index.htm", "/index.php")


def is_amp_url(url: str) -> bool:
    """True for the usual spellings of an AMP page's URL (``/amp/``, ``?amp``, ``amp.`` host, ``.amp``)."""
    parts = urlsplit(url)
    return (parts.hostname or "").startswith("amp.") or bool(_AMP_PATH.search(parts.path + ("?" + parts.query if parts.query else "")))


def canonical_url(final_url: str, declared: list[str]) -> tuple[str, bool]:
    """The article's canonical URL.

    Args:
        final_url: the URL of the final response (after redirects).
        declared: the page's ``rel=canonical`` / ``og:url`` values, raw, in order of
            authority (relative URLs are resolved against ``final_url``, RFC 3986 5.2).
            An absolute declaration is tried before a relative one: a relative canonical
            is where publishers err (``href="8003098"`` resolves into the page's folder,
            to a URL that answers 404), which is why search engines ask for absolute ones.

    Returns:
        ``(canonical_url, declared_used)``: the normalised canonical URL, and whether it
        came from the page's declaration rather than from ``final_url``.

    Raises:
        ValueError: ``final_url`` is not an http(s) URL.
    """
    absolute_first = sorted(declared, key=lambda c: not urlsplit(c.strip()).scheme)  # stable: authority kept
    for candidate in absolute_first:
        absolute = urljoin(final_url, candidate.strip())
        try:
            normalised = normalize_url(absolute)
        except ValueError:
            continue
        if same_site(normalised, final_url) and not is_home_page(normalised):
            return normalised, True
    return normalize_url(final_url), False


def aliases(
    canonical: str,
    requested_url: str,
    redirect_urls: list[str],
    final_url: str,
    declared_used: bool,
    is_amp: bool = False,
) -> list[tuple[str, str]]:
    """Every URL that led to this article other than its canonical URL, with its kind.

    Kinds: ``port`` (a default port spelled out), ``tracking`` (tracking parameters),
    ``url`` (other spelling: case, fragment, parameter order), ``redirect`` (a URL that
    redirected here), ``amp`` (the AMP page of the article), ``canonical`` (a URL whose
    page named another canonical URL).
    """
    seen: dict[str, str] = {}
    chain = [*redirect_urls, final_url] if redirect_urls else [requested_url, final_url]
    for url in dict.fromkeys(chain):
        if url == canonical or url in seen:
            continue
        seen[url] = _alias_kind(url, canonical, url != final_url, declared_used, is_amp)
    return list(seen.items())


def _alias_kind(url: str, canonical: str, redirected: bool, declared_used: bool, is_amp: bool) -> str:
    try:
        normalised = normalize_url(url)
    except ValueError:
        return "url"
    if normalised == canonical:
        if _drop_default_port(url) != url:
            return "port"
        names = [p.split("=", 1)[0] for p in urlsplit(url).query.split("&") if p]
        if any(_is_tracking(n) for n in names):
            return "tracking"
        return "url"
    if redirected:
        return "redirect"
    if is_amp or is_amp_url(url):
        return "amp"
    return "canonical" if declared_used else "url"
