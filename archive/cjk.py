"""Chinese, Japanese and Korean text for full-text search: overlapping character bigrams.

SQLite FTS5's ``unicode61`` tokenizer splits words at spaces and punctuation; Chinese and
Japanese are written without spaces, so a whole run of ideographs or kana is one token
and a word inside it (``香港``, ``梁振英``) is never found. The archive therefore keeps a
second FTS5 index, ``snapshots_cjk``, of each version's CJK runs cut into overlapping
bigrams (``梁振英`` -> ``梁振 振英``), the method of Lucene's CJKBigramFilter and of
Elasticsearch's ``cjk`` analyzer. A search word of two characters or more becomes the
phrase of its bigrams, which matches exactly where the word's characters follow each
other in the text; runs are not joined across punctuation, so no bigram spans two runs.
A single character on its own is kept as a unigram in the index (a one-character
sentence), but a one-character search word is not looked up: it would match nearly
every Chinese story.

Scripts: CJK Unified Ideographs (with extension A and compatibility ideographs),
Hiragana, Katakana (with the prolonged sound mark), Hangul syllables.
"""

from __future__ import annotations

import re

CJK_CHARS = (
    "\u3005\u3007"  # 々 〇
    "\u3040-\u309f"  # Hiragana
    "\u30a0-\u30ff"  # Katakana (with ー)
    "\u3400-\u4dbf"  # CJK Extension A
    "\u4e00-\u9fff"  # CJK Unified Ideographs
    "\uac00-\ud7af"  # Hangul syllables
    "\uf900-\ufaff"  # CJK Compatibility Ideographs
)
CJK_RUN = re.compile(f"[{CJK_CHARS}]+")


def bigrams(run: str) -> list[str]:
    """Overlapping bigrams of one run of CJK characters (a single character: itself)."""
    if len(run) < 2:
        return [run] if run else []
    return [run[i : i + 2] for i in range(len(run) - 1)]


def index_text(*texts: str | None) -> str:
    """What ``snapshots_cjk`` indexes for a version: the bigrams of every CJK run of its
    title and text, space-separated, a line per run ('' when there is no CJK text)."""
    lines = []
    for text in texts:
        for run in CJK_RUN.findall(text or ""):
            lines.append(" ".join(bigrams(run)))
    return "\n".join(lines)


def query(text: str | None, max_words: int = 32) -> str:
    """The FTS5 query on ``snapshots_cjk`` for the CJK words of a search: each run of two
    characters or more as the phrase of its bigrams, all of them required (AND);
    ``'""'`` (matches nothing) when the search has no such word."""
    runs = [run for word in (text or "").split()[:max_words] for run in CJK_RUN.findall(word)]
    phrases = [f'"{" ".join(bigrams(run))}"' for run in runs if len(run) >= 2]
    return " AND ".join(phrases) or '""'


def without_cjk(text: str | None) -> str:
    """The search text with its CJK runs taken out (they are looked up in ``snapshots_cjk``)."""
    return CJK_RUN.sub(" ", text or "")
