"""Test pages built from real pages of ``../shared/data`` (read-only there; built in memory)."""

from __future__ import annotations

import re
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"
DATA = SHARED / "data"
CASES = SHARED / "cases"
ROOT_DEMO = Path(__file__).resolve().parents[1] / "demo" / "pages"

SEED_SOURCE = DATA / "trafilatura-eval" / "nationnews.com-schools"
SEED_TEASERS = [
    "Minister: Youth need to compete more",
    "Temporary road around Bawdens bridge",
    "Electric vehicles ‘selling fast’ at lower price",
    "99-year-old man dies from COVID",
]
SEED_STORY = [
    "This was all revealed yesterday in a televised press conference by Minister of Education Kay McConney",
    "Archer-Bradshaw said special vaccination consent forms had been sent out electronically to parents",
]


def seed_page() -> bytes:
    """The seed situation on a real news page's layout (Nation News, Barbados).

    The story is dated 25 April 2018 ("Posted on April 25, 2018" above its headline); the
    teasers beside it, relabelled "Opinion", are dated December 2024; the page's metadata
    states no date at all (meta tags, ``datetime`` attributes and script variables removed).
    """
    html = (SEED_SOURCE / "source.html").read_text(encoding="utf-8")
    # no date in the metadata
    html = re.sub(r'<meta[^>]+(?:published|modified)_time[^>]*>', "", html)
    html = re.sub(r'\sdatetime="[^"]*"', "", html)
    html = re.sub(r'var svc_post_date = "[^"]*";', "", html)
    # the story's own visible date: the dates in its header, between <article> and <h1>
    head_start = html.index('<article id="post-261705"')
    head_end = html.index("<h1>", head_start)
    header = html[head_start:head_end].replace("April 22, 2022", "April 25, 2018")
    html = html[:head_start] + header + html[head_end:]
    # every other date on the page belongs to a teaser: December 2024
    day = iter(range(1, 32))
    html = re.sub(r"(January|April) \d{1,2}, 20(21|22)", lambda m: f"December {next(day)}, 2024", html)
    html = html.replace(">Editors Pick</a>", ">Opinion</a>")
    return html.encode("utf-8")
