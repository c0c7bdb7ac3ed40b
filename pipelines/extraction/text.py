"""Rules on the extracted text: article or not, language, author lists."""

from __future__ import annotations


import re

_IDENTIFIER = None
MIN_DECLARED_CHARS = 250
MIN_PAGE_CHARS = 500
MIN_WEBSITE_CHARS = 2000
PROSE_LINE = 60
LANGID_MIN_CHARS = 200
LANGID_MIN_PROB = 0.9
LANGID_SAMPLE_CHARS = 400


def split_list(value: str | None) -> list[str]:
    """trafilatura's ``"A; B"`` author string as ``["A", "B"]``."""
    if not value:
        return []
    return [part.strip() for part in value.split(";") if part.strip()]


NOT_NAMES = {"username", "user", "admin", "administrator", "editor", "author", "staff writer", "guest"}


def clean_authors(names: list[str]) -> list[str]:
    """Author names without repeats (compared case-insensitively) and without what is not a
    name: placeholders ("Username"), initials or degrees of two letters or fewer."""
    kept: dict[str, str] = {}
    for name in names:
        name = " ".join(name.split())
        key = name.lower()
        if len(name) <= 2 or key in NOT_NAMES or key in kept:
            continue
        kept[key] = name
    return list(kept.values())


def split_tags(values: list[str]) -> list[str]:
    """Tags, with a comma-separated string (as many sites write keywords) split into tags."""
    tags = []
    for value in values:
        tags += [part.strip() for part in re.split(r"[,;]", value) if part.strip()]
    return tags


def prose_chars(text: str) -> int:
    """Characters of the text in lines of 60+ characters (sentences, not headlines or menus)."""
    return sum(len(line) for line in (line.strip() for line in text.split("\n")) if len(line) >= PROSE_LINE)


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
    lang, prob = _identifier().classify(text[:LANGID_SAMPLE_CHARS])
    if declared is None or (lang != declared and prob >= LANGID_MIN_PROB):
        return lang
    return declared
