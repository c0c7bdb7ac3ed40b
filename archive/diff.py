"""What changed between two versions of a story: a word diff (Python's difflib).

The diff is kept as a list of operations, ``[["=", "words"], ["-", "removed"], ["+",
"added"], ...]``, with long unchanged runs shortened to their first and last words around
an ellipsis, so that it is small to store and easy to render (terminal or Datasette).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

CONTEXT_WORDS = 12
_WORD = re.compile(r"\S+|\n")


@dataclass(frozen=True)
class Change:
    """A summary of the difference between two versions.

    Attributes:
        title_changed / published_changed / modified_changed: booleans.
        words_added / words_removed: counts of words.
        ops: the word diff, as described in the module docstring.
    """

    title_changed: bool
    words_added: int
    words_removed: int
    published_changed: bool
    modified_changed: bool
    ops: list[list[str]]


def _words(text: str) -> list[str]:
    # paragraphs stay visible as "\n" tokens
    return _WORD.findall(text or "")


def word_diff(old: str, new: str, context: int = CONTEXT_WORDS) -> list[list[str]]:
    """Word-level diff of two texts (see the module docstring for its shape): an unchanged
    run keeps its first and last ``context`` words around "…" (the first run only its last
    words, the last run after a change only its first words)."""
    a, b = _words(old), _words(new)
    ops: list[list[str]] = []
    opcodes = difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes()
    for n, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        if tag == "equal":
            run = a[i1:i2]
            if ops and n == len(opcodes) - 1:
                if len(run) > context:
                    run = [*run[:context], "…"]
            elif len(run) > 2 * context:
                run = [*run[:context], "…", *run[-context:]] if ops else ["…", *run[-context:]]
            ops.append(["=", _join(run)])
        else:
            if i2 > i1:
                ops.append(["-", _join(a[i1:i2])])
            if j2 > j1:
                ops.append(["+", _join(b[j1:j2])])
    return ops


def _join(words: list[str]) -> str:
    return " ".join(words).replace(" \n ", "\n").replace("\n ", "\n").replace(" \n", "\n")


def compare(old: dict, new: dict) -> Change:
    """Compare two snapshots (dicts with ``title``, ``text``, ``published``, ``modified``)."""
    ops = word_diff(old.get("text") or "", new.get("text") or "")
    added = sum(len(t.split()) for op, t in ops if op == "+")
    removed = sum(len(t.split()) for op, t in ops if op == "-")
    return Change(
        title_changed=(old.get("title") or "") != (new.get("title") or ""),
        words_added=added,
        words_removed=removed,
        published_changed=(old.get("published") or "") != (new.get("published") or ""),
        modified_changed=(old.get("modified") or "") != (new.get("modified") or ""),
        ops=ops,
    )


def render(ops: list[list[str]]) -> str:
    """The diff as text: ``[-removed-]`` and ``{+added+}`` (git's word-diff style)."""
    out = []
    for op, text in ops:
        out.append(text if op == "=" else f"[-{text}-]" if op == "-" else f"{{+{text}+}}")
    return " ".join(out)
