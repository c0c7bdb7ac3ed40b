"""Downloader middlewares of newsarchive."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.exceptions import IgnoreRequest

logger = logging.getLogger(__name__)


class PrivateAddressRefused(IgnoreRequest):
    """A request to a loopback, private, link-local or otherwise non-public address was refused."""


def non_public_reason(address: str) -> str | None:
    """Why an IP address is not a public Internet address (``"loopback"``, ``"private"``,
    ``"link-local"``, ...), or ``None`` for a global address (Python ``ipaddress``,
    after IANA's special-purpose registries)."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    for reason in ("loopback", "private", "link_local", "multicast", "reserved", "unspecified"):
        if getattr(ip, f"is_{reason}"):
            return reason.replace("_", "-")
    if not ip.is_global:
        return "special-purpose"
    return None


class PrivateAddressGuard:
    """Refuse requests whose host is, or resolves to, a non-public address (SSRF guard).

    A URL from a feed, a page or the command line must not make the crawler reach the
    machine it runs on or its private network. Such addresses are allowed only for the
    hosts of sources with ``allow_private = true`` (the spider's ``private_hosts``), or
    for every request when the ``ARCHIVE_ALLOW_PRIVATE`` setting is on (the CLI's
    ``--allow-private``). Every hop is checked: redirects and robots.txt requests pass
    through downloader middlewares again, so a permitted host cannot bounce the crawler
    to another private address.

    Raises (per request):
        PrivateAddressRefused: the host is not public, or cannot be resolved.
    """

    def __init__(self, allow_all: bool = False, private_hosts: set[str] | None = None) -> None:
        self.allow_all = allow_all
        self.private_hosts = private_hosts or set()
        self._resolved: dict[str, list[str]] = {}

    @classmethod
    def from_crawler(cls, crawler) -> PrivateAddressGuard:
        spider = crawler.spider
        allow_all = crawler.settings.getbool("ARCHIVE_ALLOW_PRIVATE") or getattr(spider, "allow_private", False) is True
        hosts = set(getattr(spider, "private_hosts", set()) or set())
        guard = cls(allow_all=allow_all, private_hosts=hosts)
        guard.stats = crawler.stats
        return guard

    async def process_request(self, request: Request) -> Any:
        if self.allow_all:
            return None
        host = urlsplit(request.url).hostname or ""
        if host in self.private_hosts:
            return None
        addresses = await self._addresses(host)
        for address in addresses:
            reason = non_public_reason(address)
            if reason:
                self.stats.inc_value("guard/refused")
                raise PrivateAddressRefused(
                    f"refused: {host} is a {reason} address ({address}); "
                    "allow it with allow_private = true (config) or --allow-private"
                )
        return None

    async def _addresses(self, host: str) -> list[str]:
        try:
            return [str(ipaddress.ip_address(host.strip("[]")))]
        except ValueError:
            pass
        if host not in self._resolved:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
            except (socket.gaierror, UnicodeError):
                # Let the download fail with Scrapy's own DNS error, which is recorded as such.
                return []
            self._resolved[host] = sorted({info[4][0] for info in infos})
        return self._resolved[host]



class AliasKeepingRedirectMiddleware(RedirectMiddleware):
    """Scrapy's RedirectMiddleware, except that a redirect is followed even to a URL already
    fetched in this run: the redirect source is an alias of the article (design.md,
    Identity), and it can only be recorded from the redirected response. Loops still end
    at ``REDIRECT_MAX_TIMES``."""

    def _redirect(self, redirected: Request, request: Request, reason: Any) -> Request:
        redirected = super()._redirect(redirected, request, reason)
        redirected.dont_filter = True
        return redirected
