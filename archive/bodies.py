"""How response bodies are kept: compressed, once per distinct body, keyed by SHA-256.

Codecs (``bodies.codec``):

- ``zstd``: Zstandard, level 10 (python-zstandard). On the shared real pages it keeps
  15.7% of the bytes, gzip -6 17.9%, and is a little faster (``benchmarks/storage.py``).
- ``zstd-delta``: Zstandard with another stored body (``bodies.base_digest``) as a raw
  content dictionary. A re-fetched page differs from the last one only in an ad slot, a
  timestamp or an edited sentence, so it is kept in a few hundred bytes instead of tens of
  kilobytes; every byte is still there, exactly. A base is always a full body (never
  another delta), so reading any body takes at most one other body.
- ``gzip``: what release 0.1.0 wrote; read, no longer written.
"""

from __future__ import annotations

import gzip
import hashlib

import zstandard

LEVEL = 10
# A delta is kept when it is under half the size of the body compressed on its own.
DELTA_GAIN = 0.5


class CodecError(ValueError):
    """A body's codec is unknown, or a delta's base body is missing."""


def digest(body: bytes) -> str:
    """SHA-256 of the body bytes, lower-case hex (the ``bodies.digest`` key)."""
    return hashlib.sha256(body).hexdigest()


def compress_full(body: bytes) -> bytes:
    """The body compressed on its own (codec ``zstd``)."""
    return zstandard.ZstdCompressor(level=LEVEL).compress(body)


def compress(body: bytes, base: bytes | None = None, full: bytes | None = None) -> tuple[str, bytes]:
    """``(codec, data)``: a delta against ``base`` when that saves at least half, else full zstd.

    ``full`` is :func:`compress_full` of ``body`` when the caller made it already (an
    extraction worker does, off the crawl's own process); it is not checked here."""
    full = full if full is not None else compress_full(body)
    if base:
        dictionary = zstandard.ZstdCompressionDict(base, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
        delta = zstandard.ZstdCompressor(level=LEVEL, dict_data=dictionary).compress(body)
        if len(delta) < DELTA_GAIN * len(full):
            return "zstd-delta", delta
    return "zstd", full


def decompress(codec: str, data: bytes, base: bytes | None = None) -> bytes:
    """The body bytes back.

    Raises:
        CodecError: unknown codec, or a delta without its base.
    """
    if codec == "zstd":
        return zstandard.ZstdDecompressor().decompress(data)
    if codec == "zstd-delta":
        if base is None:
            raise CodecError("a zstd-delta body needs its base body")
        dictionary = zstandard.ZstdCompressionDict(base, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
        return zstandard.ZstdDecompressor(dict_data=dictionary).decompress(data)
    if codec == "gzip":
        return gzip.decompress(data)
    raise CodecError(f"unknown body codec {codec!r}")
