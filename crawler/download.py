"""The HTTP download handler of newsarchive: Scrapy's, keeping what arrived when a download
whose length was never announced times out.

A body with neither Content-Length nor chunked framing ends when the server closes the
connection (RFC 9112 section 6.3, "close-delimited"). A server that sends a whole page
that way and then holds the connection open makes Scrapy's download time out, and Scrapy
drops every byte that arrived (``DownloadTimeoutError``; scrapy/scrapy issue 3407, still
open). Here such a body is returned instead, with Scrapy's response flag
``partial`` (the flag Scrapy itself sets on a close-delimited body, ``PotentialDataLoss``):
the spider keeps it as a capture flagged ``partial`` unless the document visibly ends
(``crawler.spiders.base.looks_complete``), never as a silent loss. A body whose
Content-Length was announced and not reached, or whose chunks stopped before the last one,
still times out (it is known to be cut short: reliability.md, scenario 2), and so does a
download that received no body byte.

This relies on Scrapy's HTTP/1.1 handler internals (``_ScrapyAgent``, ``_ResponseReader``;
Scrapy 2.19) and Twisted's (the connection's parser and its body decoder): when Scrapy's
are missing, the handler warns once and behaves exactly as Scrapy's; when Twisted's are,
a timed-out body is dropped, as Scrapy does.

Stats: ``downloader/kept_on_timeout``.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Request
from scrapy.core.downloader.handlers import http11
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.http import Response
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.web.http import _IdentityTransferDecoder
from twisted.web.iweb import UNKNOWN_LENGTH

logger = logging.getLogger(__name__)

_INTERNALS = all(
    hasattr(http11, name)
    for name in ("_ScrapyAgent", "_ResponseReader", "make_response", "wrap_twisted_exceptions", "get_dataloss_msg", "ResponseDataLossError")
) and all(
    hasattr(http11._ScrapyAgent, name) for name in ("_cb_timeout", "_headers_from_twisted_response")
)


class _KeepArrivedAgent(http11._ScrapyAgent if _INTERNALS else object):  # type: ignore[misc]
    def _cb_timeout(self, result: Any, request: Request, url: str, timeout: float) -> Any:
        if not self._timeout_cl.active():  # the download timed out
            kept = self._arrived(url)
            if kept is not None:
                stats = self._crawler.stats
                if stats is not None:
                    stats.inc_value("downloader/kept_on_timeout")
                logger.warning(
                    "%s: no end of body after %s s (no Content-Length; the connection stayed open): "
                    "the %d bytes that arrived are kept, flagged partial", url, timeout, len(kept.body),
                )
                return kept
        return super()._cb_timeout(result, request, url, timeout)

    def _arrived(self, url: str) -> Response | None:
        """The body received so far of a close-delimited response, or ``None``."""
        txresponse = self._txresponse
        reader = getattr(txresponse, "_bodyProtocol", None)
        if txresponse is None or txresponse.length != UNKNOWN_LENGTH or not isinstance(reader, http11._ResponseReader):
            return None
        if not _close_delimited(txresponse):
            return None
        body = reader._bodybuf.getvalue()
        if not body:
            return None
        # as Scrapy's own timeout does: an HTTPS transport must stop producing too
        txresponse._transport.stopProducing()
        version = txresponse.version
        return http11.make_response(
            url=url,
            status=int(txresponse.code),
            headers=self._headers_from_twisted_response(txresponse),
            body=body,
            flags=["partial"],
            certificate=reader._certificate,
            ip_address=reader._ip_address,
            protocol=f"{version[0].decode()}/{version[1]}.{version[2]}",
        )


def _close_delimited(txresponse: Any) -> bool:
    """Whether Twisted reads the response's body until the connection closes: neither a
    Content-Length nor chunked framing (a chunked body that stops short is known to be cut:
    it times out as before). Told by the body decoder of the connection's HTTP parser,
    reached from the response's transport through the protocols that wrap it (TCP, the
    endpoint's wrapper, TLS)."""
    layer = getattr(txresponse._transport, "_producer", None)
    for _ in range(4):
        if layer is None or hasattr(layer, "_parser"):
            break
        layer = getattr(layer, "wrappedProtocol", None) or getattr(layer, "_wrappedProtocol", None) or getattr(layer, "protocol", None)
    decoder = getattr(getattr(layer, "_parser", None), "bodyDecoder", None)
    return isinstance(decoder, _IdentityTransferDecoder) and decoder.contentLength is None


class KeepArrivedDownloadHandler(HTTP11DownloadHandler):
    """Scrapy's ``HTTP11DownloadHandler`` (``DOWNLOAD_HANDLERS`` for ``http`` and ``https``),
    except that a close-delimited download that times out after some of its body arrived
    returns that body, flagged ``partial`` (see the module's docstring)."""

    def __init__(self, crawler) -> None:
        super().__init__(crawler)
        if not _INTERNALS:
            logger.warning("this Scrapy's HTTP handler has changed: bodies that time out are dropped, as Scrapy does")

    async def download_request(self, request: Request) -> Response:
        if not _INTERNALS:
            return await super().download_request(request)
        # Scrapy's HTTP11DownloadHandler.download_request, with the agent above
        agent = _KeepArrivedAgent(
            contextFactory=self._contextFactory,
            bindAddress=self._bind_address,
            pool=self._pool,
            maxsize=getattr(self._crawler.spider, "download_maxsize", self._default_maxsize),
            warnsize=getattr(self._crawler.spider, "download_warnsize", self._default_warnsize),
            fail_on_dataloss=self._fail_on_dataloss,
            crawler=self._crawler,
            tls_verbose_logging=self._tls_verbose_logging,
        )
        try:
            with http11.wrap_twisted_exceptions():
                return await maybe_deferred_to_future(agent.download_request(request))
        except http11.ResponseDataLossError:
            if not self._fail_on_dataloss_warned:
                logger.warning(http11.get_dataloss_msg(request.url))
                self._fail_on_dataloss_warned = True
            raise
