"""Near-duplicate stories across articles: MinHash signatures (datasketch) and LSH bands.

The same agency story on two sites, or one site's story under two URLs it does not
declare canonical, are different articles with nearly the same text. They are recorded
as related (``near_duplicates``), never merged.

A story's text is cut into 5-word shingles; its MinHash signature (64 permutations,
datasketch) estimates the Jaccard similarity of two shingle sets. To find candidates
without comparing every pair, the signature is cut into 16 bands of 4 values; two stories
sharing any band are compared (locality-sensitive hashing, as datasketch's MinHashLSH);
a pair at or above 0.8 estimated similarity is a near-duplicate.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import re
import sys
import types

import numpy as np

NUM_PERM = 64
SCHEME = "affine32"  # datasketch 2.x permutation scheme; stored signatures are only comparable within one
BANDS = 16
ROWS = NUM_PERM // BANDS
SHINGLE_WORDS = 5
THRESHOLD = 0.8
METHOD = f"minhash{NUM_PERM}-jaccard-5word"
MIN_WORDS = 40  # shorter texts are too little to call two stories the same
_WORD = re.compile(r"\w+", re.UNICODE)


def signature(text: str) -> bytes | None:
    """MinHash signature of a text (64 unsigned 64-bit values, little-endian), or ``None``
    for texts under 40 words."""
    words = _WORD.findall((text or "").lower())
    if len(words) < MIN_WORDS:
        return None
    minhash = minhash_class()(num_perm=NUM_PERM, seed=1, scheme=SCHEME)
    minhash.update_batch([" ".join(words[i : i + SHINGLE_WORDS]).encode() for i in range(len(words) - SHINGLE_WORDS + 1)])
    return minhash.hashvalues.astype("<u8").tobytes()


def minhash_class() -> type:
    """datasketch's ``MinHash`` class, loaded without the rest of the package.

    ``datasketch/__init__.py`` (2.0) imports every sketch it offers, its LSH indexes with
    SciPy and aiohttp among them: about 1 s of CPU and 60 MiB in every process that makes
    signatures (each crawl's extraction workers), where ``datasketch.minhash`` alone needs
    numpy and ``datasketch.hashfunc`` (under 10 ms). While that module loads, the package
    stands in ``sys.modules`` as a bare namespace over its own directory; afterwards it is
    taken out again, so that a later ``import datasketch`` runs the package's own
    ``__init__`` (which then finds ``datasketch.minhash`` loaded: the class is the same).

    Raises:
        ImportError: datasketch is not installed.
    """
    if "datasketch.minhash" not in sys.modules:
        spec = importlib.util.find_spec("datasketch")
        if spec is None or spec.submodule_search_locations is None:
            raise ImportError("datasketch is not installed")
        if "datasketch" in sys.modules:
            importlib.import_module("datasketch.minhash")
        else:
            package = types.ModuleType("datasketch")
            package.__path__, package.__spec__ = list(spec.submodule_search_locations), spec
            sys.modules["datasketch"] = package
            try:
                importlib.import_module("datasketch.minhash")
            finally:
                del sys.modules["datasketch"]
    return sys.modules["datasketch.minhash"].MinHash


def bands(sig: bytes) -> list[str]:
    """The LSH band keys of a signature (16 hex strings)."""
    return [
        f"{i}:" + hashlib.sha1(sig[i * ROWS * 8 : (i + 1) * ROWS * 8]).hexdigest()[:16]  # noqa: S324 - a bucket key
        for i in range(BANDS)
    ]


def similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of the texts behind two signatures: the share of equal
    hash values, datasketch's ``MinHash.jaccard`` (computed on the bytes: the archive's
    writer compares signatures without loading datasketch, whose package import brings
    SciPy, about 60 MiB)."""
    left, right = np.frombuffer(a, dtype="<u8"), np.frombuffer(b, dtype="<u8")
    return float(np.count_nonzero(left == right)) / len(left)
