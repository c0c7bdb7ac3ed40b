"""Near-duplicate signatures (archive/similarity.py): the archive's comparison is datasketch's."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from archive import similarity

STORY = " ".join(f"word{n % 97} story{n}" for n in range(200))


def test_similarity_is_datasketchs_jaccard_estimate():
    from datasketch import MinHash

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


def test_signatures_load_datasketchs_minhash_alone_and_equal_the_whole_packages():
    code = (
        "import sys; from archive import similarity as s; sig = s.signature(sys.argv[1]); "
        "print(sorted(m for m in ('datasketch', 'scipy', 'aiohttp') if m in sys.modules)); "
        "import datasketch; from datasketch import MinHash, MinHashLSH; "
        "assert MinHash is s.minhash_class(); "
        "words = sys.argv[1].lower().split(); m = MinHash(num_perm=s.NUM_PERM, seed=1, scheme=s.SCHEME); "
        "m.update_batch([' '.join(words[i:i + 5]).encode() for i in range(len(words) - 4)]); "
        "print(m.hashvalues.astype('<u8').tobytes() == sig, 'scipy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code, STORY], capture_output=True, text=True, check=True).stdout.split("\n")
    # the signature loaded neither the package's __init__ nor SciPy; the package, imported
    # afterwards, is whole (its LSH with SciPy) and its MinHash gives the same signature
    assert out[:2] == ["[]", "True True"]
