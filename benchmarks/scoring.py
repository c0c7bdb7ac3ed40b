"""Scores for extraction quality on the shared data sets (../shared/data/README.md).

- The article extraction benchmark's metric (scrapinghub/article-extraction-benchmark):
  text split into ``\\w+`` tokens (Unicode), 4-token shingles counted per document, true
  and false positives and false negatives normalised to sum to 1 per document; precision
  and recall averaged over documents (a document without predicted or true shingles is
  left out of that average), F1 from the averages. Accuracy: share of documents whose
  token sequence equals the truth exactly.
- Segment scores (trafilatura-eval): share of ``must_contain`` segments found, share of
  pages leaking any ``must_not_contain`` segment (white space folded, Unicode NFC).
- Date scores: day-exact share, and wrong dates (a date given where the truth is none or
  another day).
- Author scores (Readability's ``byline``, trafilatura-eval's ``author``): a byline's words
  (letters only, lower case, without "by"/"par"/"von"/"por" and "and"), the truth's against
  the authors found; exact pages (the same words) and word precision and recall over all
  pages with a truth. A true byline is the byline element's text, which may hold its date
  ("By Nathan Willis March 29, 2017"): the English month names and "am"/"pm" are no words
  of its names (digits never are). Some truths are not names (a date line, a site's name):
  every extractor is scored against the same ones.
"""

from __future__ import annotations

import calendar
import re
import statistics
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

TOKEN = re.compile(r"\w+", re.UNICODE)
SHINGLE = 4


def tokens(text: str | None) -> list[str]:
    return TOKEN.findall(text or "")


def shingles(text: str | None, n: int = SHINGLE) -> Counter:
    """Counts of the text's n-token shingles; a text shorter than n tokens is one shingle."""
    words = tokens(text)
    found = Counter()
    for i in range(max(1, len(words) - n + 1)):
        shingle = tuple(words[i : i + n])
        if shingle:
            found[shingle] += 1
    return found


def shingle_counts(truth: str | None, predicted: str | None) -> tuple[float, float, float]:
    """Normalised (tp, fp, fn) of one document, summing to 1 (or all 0 for two empty texts)."""
    true_s, pred_s = shingles(truth), shingles(predicted)
    tp = fp = fn = 0
    for key in true_s.keys() | pred_s.keys():
        t, p = true_s.get(key, 0), pred_s.get(key, 0)
        tp += min(t, p)
        fp += max(0, p - t)
        fn += max(0, t - p)
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def _precision(tp: float, fp: float, fn: float) -> float:
    if fp == 0 and fn == 0:
        return 1.0
    return tp / (tp + fp) if tp + fp else 0.0


def _recall(tp: float, fp: float, fn: float) -> float:
    if fp == 0 and fn == 0:
        return 1.0
    return tp / (tp + fn) if tp + fn else 0.0


@dataclass(frozen=True)
class TextScore:
    f1: float
    precision: float
    recall: float
    accuracy: float
    documents: int


def text_score(pairs: Iterable[tuple[str | None, str | None]]) -> TextScore:
    """Benchmark score over ``(truth, predicted)`` pairs."""
    counts, exact, n = [], 0, 0
    for truth, predicted in pairs:
        n += 1
        counts.append(shingle_counts(truth, predicted))
        exact += tokens(truth) == tokens(predicted)
    precisions = [_precision(*c) for c in counts if c[0] + c[1] > 0]
    recalls = [_recall(*c) for c in counts if c[0] + c[2] > 0]
    p = statistics.mean(precisions) if precisions else 0.0
    r = statistics.mean(recalls) if recalls else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return TextScore(f1, p, r, exact / n if n else 0.0, n)


#: the issue's test of a story cut short: our recall under this ...
CUT_SHORT_RECALL = 0.5
#: ... where trafilatura's full mode finds at least this much of the story
FULL_MODE_RECALL = 0.9


def cut_short(pages: Iterable[tuple[str, str | None, str | None, str | None]]) -> list[str]:
    """The pages whose story was cut short: over ``(name, truth, ours, full_mode)``, the
    names of those where ``ours`` finds under :data:`CUT_SHORT_RECALL` of the truth's
    shingles and trafilatura's full mode (``full_mode``) at least :data:`FULL_MODE_RECALL`
    (issue 13's limit: no such page)."""
    return [
        name
        for name, truth, ours, full_mode in pages
        if _recall(*shingle_counts(truth, ours)) < CUT_SHORT_RECALL and _recall(*shingle_counts(truth, full_mode)) >= FULL_MODE_RECALL
    ]

def _squash(text: str) -> str:
    # NFC on both sides: the same letters may arrive composed or decomposed
    return " ".join(unicodedata.normalize("NFC", text or "").split())


@dataclass(frozen=True)
class SegmentScore:
    found: float  # share of must_contain segments found
    leaking: float  # share of pages with any must_not_contain segment
    segments: int
    pages: int


def segment_score(pages: Iterable[tuple[list[str], list[str], str | None]]) -> SegmentScore:
    """Over ``(must_contain, must_not_contain, predicted_text)`` per page (white space folded)."""
    found = total = leaking = n = 0
    for must, must_not, predicted in pages:
        n += 1
        text = _squash(predicted or "")
        total += len(must)
        found += sum(_squash(s) in text for s in must)
        leaking += any(_squash(s) in text for s in must_not)
    return SegmentScore(found / total if total else 0.0, leaking / n if n else 0.0, total, n)


BYLINE_WORDS = {"by", "par", "von", "vom", "por", "written", "edited", "and", "und", "et", "y", "e"}
DATE_WORDS = {m.lower() for m in (*calendar.month_name, *calendar.month_abbr) if m} | {"am", "pm"}


def name_words(byline: str | None) -> set[str]:
    """The words of a byline or of a list of names joined: letters only, lower case (NFKC)."""
    text = unicodedata.normalize("NFKC", byline or "").lower()
    return {w for w in re.findall(r"[^\W\d_]{2,}", text) if w not in BYLINE_WORDS}


@dataclass(frozen=True)
class AuthorScore:
    exact: int  # pages whose authors have the truth's words, no more, no fewer
    pages: int  # pages with a true byline
    precision: float  # words found that are the truth's, over all pages
    recall: float  # the truth's words found, over all pages


def author_score(pairs: Iterable[tuple[str, list[str]]]) -> AuthorScore:
    """Over ``(true byline, authors found)`` pairs (pages with a true byline)."""
    exact = n = right = found = true = 0
    for truth, authors in pairs:
        n += 1
        want, got = name_words(truth) - DATE_WORDS, name_words(" ".join(authors))
        exact += want == got
        right += len(want & got)
        found += len(got)
        true += len(want)
    return AuthorScore(exact, n, right / found if found else 0.0, right / true if true else 0.0)


@dataclass(frozen=True)
class DateScore:
    exact: int  # pages whose predicted day equals the true day
    truths: int  # pages with a true date
    wrong: int  # pages given a date where the truth is none or another day
    pages: int


def date_score(pairs: Iterable[tuple[str | None, str | None]]) -> DateScore:
    """Over ``(true_day, predicted_day)`` pairs, days as ``YYYY-MM-DD`` (or ``None``)."""
    exact = truths = wrong = n = 0
    for truth, predicted in pairs:
        n += 1
        truth = truth[:10] if truth else None
        predicted = predicted[:10] if predicted else None
        truths += truth is not None
        if predicted is not None and truth is not None and predicted == truth:
            exact += 1
        elif predicted is not None:
            wrong += 1
    return DateScore(exact, truths, wrong, n)
