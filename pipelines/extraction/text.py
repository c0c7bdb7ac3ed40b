"""Stage 7, language: the story's language, and whether the page is a story at all."""

from __future__ import annotations

_IDENTIFIER = None
MIN_DECLARED_CHARS = 250
MIN_PAGE_CHARS = 500
MIN_WEBSITE_CHARS = 2000
PROSE_LINE = 60
LANGID_MIN_CHARS = 200
LANGID_MIN_PROB = 0.9
LANGID_SAMPLE_CHARS = 400


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


def language(text: str, declared: str | None) -> str | None:
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
