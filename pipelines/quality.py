"""Captures that must not become versions: walls and error pages served with a 200.

A news site answers some requests with a page that is not the story: a cookie-consent
wall, a paywall teaser, a "page not found" served with status 200 (a soft 404), or a page
whose extraction came back empty. Archiving such a page as a new version would invent an
edit; it is kept as a capture with a ``flag`` instead. (The archive adds one more flag,
``shrunk``: a text under a third of the article's last version.)

The rules are general, in several languages, and apply only to short texts: a long story
that mentions cookies or subscriptions is still a story.
"""

from __future__ import annotations

import re

SHORT_TEXT = 1500
CONSENT_WINDOW = 800

SOFT_404 = re.compile(
    r"\b(?:(?:error )?404(?: error| not found)|page (?:was )?not found|page (?:does not|doesn't) exist|"
    r"(?:article|page|story|content) (?:is )?no longer available|(?:page|article) could(?: not|n't) be found|"
    r"seite nicht gefunden|page introuvable|página no encontrada|pagina non trovata|pagina niet gevonden)\b",
    re.IGNORECASE,
)
# both a cookie/consent word and a consent button, close together
CONSENT_WALL = re.compile(
    r"\b(?:cookies?|consent preferences|partners? (?:use|store)|vendors)\b.{0,300}"
    r"\b(?:accept(?: all| cookies)?|i agree|agree and (?:continue|close)|reject all|manage (?:cookies|preferences|options|settings)|"
    r"alle akzeptieren|tout accepter|aceptar todo|accetta tutto)\b",
    re.IGNORECASE | re.DOTALL,
)
PAYWALL = re.compile(
    r"subscribe (?:now )?to (?:continue|read|keep reading)|to continue reading|already a subscriber|"
    r"this (?:article|story|content) is (?:for|available to|reserved for) (?:subscribers|members)|"
    r"subscribers only|log ?in to read|pour lire la suite|réservé aux abonnés|weiterlesen mit|nur für abonnenten|"
    r"solo para suscriptores|contenido exclusivo para suscriptores",
    re.IGNORECASE,
)


def capture_flag(title: str | None, text: str) -> str | None:
    """Why an extracted page is not a version of the story, or ``None`` if it may be one:
    ``empty``, ``soft_404``, ``consent_wall`` or ``paywall``."""
    text = text or ""
    if len(text) >= SHORT_TEXT:
        return None
    if SOFT_404.search(f"{title or ''}\n{text[:300]}"):
        return "soft_404"
    if not text.strip():
        return "empty"
    if CONSENT_WALL.search(text[:CONSENT_WINDOW]):
        return "consent_wall"
    if PAYWALL.search(text):
        return "paywall"
    return None
