"""Rules on the extracted text: the headline off the body, article or not, language."""

from __future__ import annotations

import re
import unicodedata

import py3langid

_IDENTIFIER = None
MIN_DECLARED_CHARS = 250
MIN_PAGE_CHARS = 500
MIN_WEBSITE_CHARS = 2000
PROSE_LINE = 60
HEADLINE_WINDOW = 3
HEADER_LABEL_CHARS = 40
LANGID_MIN_CHARS = 200
LANGID_MIN_PROB = 0.9


def _key(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"\W+", " ", text).strip()


def _same_title(line: str, want: str) -> bool:
    first = _key(line)
    if not first:
        return False
    if first == want:
        return True
    # a longer variant ("Title - Site") or a shorter one (the title without its site suffix)
    short, long = sorted((first, want), key=len)
    return len(short) >= 12 and long.startswith(short) and len(long) - len(short) <= 40


def strip_headline(text: str, title: str | None) -> str:
    """Take the headline, and the header furniture above it, off the start of the body text.

    The title is a field of its own, yet extraction often keeps the ``<h1>`` as the first
    line, sometimes after a kicker or a "Posted on" label. When one of the first three
    lines is the title (or a variant with or without a site-name suffix), it and the
    short lines before it (under 40 characters: labels, not sentences) are removed.
    """
    if not text or not title:
        return text
    lines = text.split("\n")
    want = _key(title)
    for index, line in enumerate(lines[:HEADLINE_WINDOW]):
        if _same_title(line, want):
            if all(len(prev.strip()) < HEADER_LABEL_CHARS for prev in lines[:index]):
                lines = lines[index + 1 :]
                while lines and _same_title(lines[0], want):
                    lines.pop(0)
            break
    return "\n".join(lines).strip()


def split_list(value: str | None) -> list[str]:
    """trafilatura's ``"A; B"`` author string as ``["A", "B"]``."""
    if not value:
        return []
    return [part.strip() for part in value.split(";") if part.strip()]


def prose_share(text: str) -> float:
    """Share of the text's characters that are in lines of 60+ characters (sentences, not headlines)."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    total = sum(len(line) for line in lines)
    return sum(len(line) for line in lines if len(line) >= PROSE_LINE) / total if total else 0.0


def looks_like_article(text: str, declared_article: bool, og_type: str | None) -> bool:
    """Whether the extracted text is a story rather than a section front, list or utility page.

    A page that declares itself an article (a schema.org Article type, ``og:type=article``)
    needs 250 characters of main text. Any other page needs 500 characters, half of them
    in prose lines (60+ characters); a page that declares itself a ``website`` (what home
    and section fronts declare) needs 2,000 characters, 70% prose.
    """
    size = len(text.strip())
    if declared_article:
        return size >= MIN_DECLARED_CHARS
    share = prose_share(text)
    if og_type == "website":
        return size >= MIN_WEBSITE_CHARS and share >= 0.7
    return size >= MIN_PAGE_CHARS and share >= 0.5


def _identifier():
    global _IDENTIFIER
    if _IDENTIFIER is None:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        _IDENTIFIER = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return _IDENTIFIER


def detect_language(text: str, declared: str | None) -> str | None:
    """The text's language as an ISO 639-1 code.

    The page's declared language is kept unless the text (200+ characters) is
    identified by py3langid with probability 0.9 or more as another language:
    templates often declare ``lang="en"`` whatever the story's language.
    """
    if len(text) < LANGID_MIN_CHARS:
        return declared
    lang, prob = _identifier().classify(text[:5000])
    if declared is None or (lang != declared and prob >= LANGID_MIN_PROB):
        return lang
    return declared
