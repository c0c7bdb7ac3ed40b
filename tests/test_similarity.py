"""Near-duplicate signatures (archive/similarity.py): the archive's comparison is datasketch's."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from datasketch import MinHash

from archive import similarity

STORY = " ".join(f"word{n % 97} story{n}" for n in range(200))


def test_similarity_is_datasketchs_jaccard_estimate():
    a = similarity.signature(STORY)
    b = similarity.signature(STORY.replace("story15 ", "tale15 ").replace("story99 ", "tale99 "))  # some shingles differ
    as_minhash = [
        MinHash(num_perm=similarity.NUM_PERM, seed=1, scheme=similarity.SCHEME, hashvalues=np.frombuffer(s, dtype="<u8"))
        for s in (a, b)
    ]
    expected = as_minhash[0].jaccard(as_minhash[1])
    assert 0.3 < expected < 1.0
    assert similarity.similarity(a, b) == expected
    assert similarity.similarity(a, a) == 1.0


def test_comparing_signatures_loads_neither_datasketch_nor_scipy():
    code = (
        "import sys; from archive import similarity as s; "
        "v = bytes(range(256)) * 2; s.similarity(v, v); s.bands(v); "
        "print(sorted(m for m in ('datasketch', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
