"""Pages that are not versions of the story (pipelines/quality.py)."""

from __future__ import annotations

import pytest

from pipelines.quality import capture_flag
from tests.pages import DATA, seed_page

STORY = "The council approved the budget on Tuesday after a long debate about the harbour. " * 8


@pytest.mark.parametrize(
    ("title", "text", "flag"),
    [
        ("Page not found", "Sorry, the page you were looking for does not exist. Try the search.", "soft_404"),
        ("Example News", "Error 404 - the article could not be found.", "soft_404"),
        ("Seite nicht gefunden", "Die angeforderte Seite wurde nicht gefunden.", "soft_404"),
        ("Example News", "We and our partners use cookies to personalise content. Accept all / Manage preferences", "consent_wall"),
        ("Example News", "Wir verwenden Cookies. Alle akzeptieren", "consent_wall"),
        ("Budget passes", "The council approved the budget. Subscribe to continue reading. Already a subscriber? Log in.", "paywall"),
        ("Budget passes", "   ", "empty"),
        ("Budget passes", STORY, None),
        ("Budget passes", "Parents signed consent forms and agreed to the vaccination plan for the school.", None),
        ("404 people rescued", "Rescuers saved 404 people from the flood on Monday, officials said.", None),
    ],
)
def test_capture_flags(title, text, flag):
    assert capture_flag(title, text) == flag


def test_long_story_mentioning_cookies_and_subscriptions_is_a_story():
    text = STORY * 2 + " Readers can accept all cookies or subscribe to continue reading elsewhere. " + STORY * 2
    assert capture_flag("Budget passes", text) is None


@pytest.mark.skipif(not DATA.is_dir(), reason=f"needs the shared real pages at {DATA} (beside the project; CI has them)")
def test_real_story_with_consent_forms_is_not_a_consent_wall():
    from pipelines.extraction import extract

    e = extract(seed_page(), "http://127.0.0.2/schools-safe-amidst-surge/")
    assert capture_flag(e.title, e.text) is None
