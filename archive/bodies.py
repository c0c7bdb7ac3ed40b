"""How response bodies are kept: compressed, once per distinct body, keyed by SHA-256.

Codecs (``bodies.codec``):

- ``zstd``: Zstandard, level 10 (python-zstandard). On the shared real pages it keeps
  15.7% of the bytes, gzip -6 17.9%, and is a little faster (``benchmarks/storage.py``).
- ``zstd-delta``: Zstandard with another stored body (``bodies.base_digest``) as a raw
  content dictionary. A re-fetched page differs from the last one only in an ad slot, a
  timestamp or an edited sentence, so it is kept in a few hundred bytes instead of tens of
  kilobytes; every byte is still there, exactly. A base is always a full body (never
  another delta), so reading any body takes at most one other body.
- ``zstd-dict``: Zstandard with a dictionary trained on earlier captures of the same site
  (``bodies.dictionary_id``, table ``dictionaries``). The pages of one site share their
  template (header, navigation, scripts, footer), which a dictionary holds once: a first
  capture is kept in about half the bytes of ``zstd`` on its own (``benchmarks/storage.py``).
  Kept only when smaller than ``zstd`` on its own.
- ``gzip``: what release 0.1.0 wrote; read, no longer written.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
from collections.abc import Iterable, Iterator

import zstandard

LEVEL = 10
# A delta is kept when it is under half the size of the body compressed on its own.
DELTA_GAIN = 0.5
#: bytes of a trained dictionary: zstd's own default (``ZDICT_trainFromBuffer``, "~100 KB")
DICTIONARY_SIZE = 112_640
#: level a dictionary itself is stored at (once per dictionary; its bytes count as stored)
DICTIONARY_LEVEL = 19
#: zstd's COVER trainer's segment size ``k`` and d-mer size ``d`` (zdict.h: k in [16,
#: 2048+], d in [6, 16]), fixed: with neither given, python-zstandard has zstd try many
#: pairs (``ZDICT_optimizeTrainFromBuffer_*``: d of 6 and 8, k from 50 to 2000), five
#: times the CPU for dictionaries that compressed the later captures of benchmarks/storage.py's
#: and benchmarks/crawl.py's sites no better (1/20.8 and 1/6.0 of raw, against 1/24.0 and 1/6.0)
DICTIONARY_K = 2048
DICTIONARY_D = 8


class CodecError(ValueError):
    """A body's codec is unknown, or a delta's base body is missing."""


def digest(body: bytes) -> str:
    """SHA-256 of the body bytes, lower-case hex (the ``bodies.digest`` key)."""
    return hashlib.sha256(body).hexdigest()


def compress_full(body: bytes) -> bytes:
    """The body compressed on its own (codec ``zstd``)."""
    return zstandard.ZstdCompressor(level=LEVEL).compress(body)


def compress(
    body: bytes, base: bytes | None = None, full: bytes | None = None, dictionary: bytes | None = None, with_dictionary: bytes | None = None
) -> tuple[str, bytes]:
    """``(codec, data)``: a delta against ``base`` when that saves at least half; else the body
    compressed with ``dictionary`` (a trained one, :func:`train`) when that is smaller than on
    its own; else full zstd.

    ``full`` is :func:`compress_full` of ``body``, and ``with_dictionary`` :func:`compress_with`
    of ``body`` and ``dictionary``, when the caller made them already (an extraction worker
    does, off the crawl's own process); they are not checked here."""
    full = full if full is not None else compress_full(body)
    if base:
        dictionary_ = zstandard.ZstdCompressionDict(base, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
        delta = zstandard.ZstdCompressor(level=LEVEL, dict_data=dictionary_).compress(body)
        if len(delta) < DELTA_GAIN * len(full):
            return "zstd-delta", delta
    if dictionary:
        with_dictionary = with_dictionary if with_dictionary is not None else compress_with(body, dictionary)
        if len(with_dictionary) < len(full):
            return "zstd-dict", with_dictionary
    return "zstd", full


def compress_with(body: bytes, dictionary: bytes) -> bytes:
    """The body compressed with a trained ``dictionary`` (codec ``zstd-dict``)."""
    return _compressor(dictionary).compress(body)


@functools.lru_cache(maxsize=16)
def _compressor(dictionary: bytes) -> zstandard.ZstdCompressor:
    # loading a dictionary costs about as much as compressing a page: once per dictionary
    return zstandard.ZstdCompressor(level=LEVEL, dict_data=zstandard.ZstdCompressionDict(dictionary))


def train(samples: list[bytes], size: int = DICTIONARY_SIZE) -> bytes:
    """A zstd dictionary of at most ``size`` bytes trained on ``samples`` (zstd's COVER
    trainer, ``zstandard.train_dictionary``, with :data:`DICTIONARY_K` and :data:`DICTIONARY_D`).

    Raises:
        CodecError: zstd could not train one (too few or too small samples).
    """
    try:
        return zstandard.train_dictionary(size, samples, k=DICTIONARY_K, d=DICTIONARY_D).as_bytes()
    except zstandard.ZstdError as exc:
        raise CodecError(f"no dictionary trained from {len(samples)} samples: {exc}") from exc


#: zstd level of the bodies a job for a worker carries (:func:`pack_bodies`): fast, and
#: about a fifth of the bytes
JOB_LEVEL = 1


def pack_bodies(bodies: Iterable[bytes]) -> list[bytes]:
    """Bodies as a job for an extraction worker carries them (a site's samples for
    :func:`train_job`, its pages for a template's learning): each compressed with zstd at
    :data:`JOB_LEVEL`, so that the jobs of a crawl's sites, held while they wait for a
    worker and copied to it, cost a fifth of their bytes in memory."""
    compressor = zstandard.ZstdCompressor(level=JOB_LEVEL)
    return [compressor.compress(body) for body in bodies]


def unpacked(packed: Iterable[bytes]) -> Iterator[bytes]:
    """The bodies :func:`pack_bodies` packed, one at a time.

    Raises:
        zstandard.ZstdError: a body that is not zstd data.
    """
    decompressor = zstandard.ZstdDecompressor()
    for body in packed:
        yield decompressor.decompress(body)


def train_job(packed: list[bytes]) -> tuple[bytes | None, str | None]:
    """:func:`train` on samples made by :func:`pack_bodies`, as a job for another process (a
    crawl's extraction workers, at the end of the run): ``(dictionary, None)``, or ``(None,
    why)`` when zstd could not train one. Never raises: a pool takes an exception for its
    own failure."""
    try:
        return train(list(unpacked(packed))), None
    except (CodecError, zstandard.ZstdError) as exc:
        return None, str(exc)


def pack_dictionary(dictionary: bytes) -> bytes:
    """A dictionary as stored (``dictionaries.data``): zstd at :data:`DICTIONARY_LEVEL`."""
    return zstandard.ZstdCompressor(level=DICTIONARY_LEVEL).compress(dictionary)


def unpack_dictionary(data: bytes) -> bytes:
    """The dictionary bytes back from :func:`pack_dictionary`."""
    return zstandard.ZstdDecompressor().decompress(data)


def decompress(codec: str, data: bytes, base: bytes | None = None, dictionary: bytes | None = None) -> bytes:
    """The body bytes back.

    Raises:
        CodecError: unknown codec, a delta without its base, or a ``zstd-dict`` body without
            its dictionary.
    """
    if codec == "zstd":
        return zstandard.ZstdDecompressor().decompress(data)
    if codec == "zstd-delta":
        if base is None:
            raise CodecError("a zstd-delta body needs its base body")
        dictionary_ = zstandard.ZstdCompressionDict(base, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
        return zstandard.ZstdDecompressor(dict_data=dictionary_).decompress(data)
    if codec == "zstd-dict":
        if dictionary is None:
            raise CodecError("a zstd-dict body needs its dictionary")
        return zstandard.ZstdDecompressor(dict_data=zstandard.ZstdCompressionDict(dictionary)).decompress(data)
    if codec == "gzip":
        return gzip.decompress(data)
    raise CodecError(f"unknown body codec {codec!r}")
