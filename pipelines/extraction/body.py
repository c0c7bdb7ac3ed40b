"""Stage 5, body: the boilerplate trafilatura left taken out of its main-content tree, the
standfirst kept apart, and the story written out as text, one paragraph per line.

trafilatura returns the main content as a small XML tree (``<p>``, ``<head>``,
``<list>``/``<item>``, ``<quote>``, ``<table>``, with links as ``<ref>``). The rules here
work on that structure, in every language the patterns list, and name no site:

- the headline (also as the page decorates it: "Headline | Section | Site"), and
  headings, kickers, bylines, date lines and cookie notices above the first paragraph
  (the title and the dates are fields of their own);
- boxes of links to other stories (a "Latest News" or "Related" list, also when each link
  carries a timestamp: ``shared/cases/03-*``), linked headlines followed by their
  timestamp, and the heading that introduces them;
- lines that invite the reader somewhere else: "Read more", "Sign up for our
  newsletter", "Follow us on", "Click here to get the app", reprint and copyright notices,
  "Write to the author at ...", cookie notices;
- label lines: "Category: ...", "Tags: ...", "Photo credit: ...";
- a bar of share buttons ("Tweet this / Link this / Share this"), and a short line
  repeated as the start of the next paragraph (a wire story's "JAKARTA" above
  "JAKARTA (Reuters) - ...").

The standfirst (the summary between the headline and the story, :func:`standfirst`) is
a field of its own, not body text. In-story headings stay, as lines of their own. White
space inside a paragraph is not a paragraph break: a hard-wrapped ``<p>`` stays one line.
"""

from __future__ import annotations

import re
import unicodedata
from copy import deepcopy
from dataclasses import dataclass

from lxml import etree
from trafilatura.xml import xmltotxt

from pipelines.extraction.clean import LEAD_MARKS_KEPT
from pipelines.extraction.dates import find_text_dates

BLOCKS = ("p", "head", "list", "quote", "table", "code", "graphic")

# The patterns down to ABOUT_BOX are matched against lower-cased text: re.IGNORECASE makes
# Python's re about five times slower on long alternations like these.

READ_MORE = re.compile(
    r"^\W*(?:read more|read also|also read|read next|related(?: stories| articles| coverage| content| reading| links)?|"
    r"see also|see more|more from|more on (?:this|that)|more stories|more news|don'?t miss|recommended(?: for you)?|"
    r"you (?:may|might) also like|trending(?: now)?|most (?:read|popular|viewed|shared)|popular now|latest news|"
    r"top stories|editor'?s picks?|lire aussi|à lire aussi|a lire aussi|voir aussi|articles? liés|sur le même sujet|"
    r"lesen sie auch|mehr zum thema|verwandte artikel|auch interessant|leggi anche|articoli correlati|lee también|"
    r"notas relacionadas|noticias relacionadas|artículos relacionados|leia também|ver também|lees ook|"
    r"czytaj także|читайте также)\b",
)
CALL_TO_ACTION = re.compile(
    r"sign up (?:for|to)|subscribe (?:to|now|today|for)|\bnewsletters?\b|follow (?:us|him|her|them|@)|"
    r"click here|tap here|download (?:the|our) app|(?:^|[.!?:]\s)\W*get (?:the|our) [\w'’ .!&-]{0,30}\bapps?\b|join (?:us|our)|"
    r"support (?:our|independent) journalism|become a (?:member|subscriber|supporter)|"
    r"share (?:this|on) (?:article|story|facebook|twitter)|all rights reserved|©|ⓒ|\(c\) ?\d{4}|copyright \d{4}|"
    r"if you (?:enjoyed|liked|value|appreciate) (?:this|our|reading)|"
    r"this copy is for your personal|order reprints|reprints? (?:&|and) permissions|print (?:this )?article|"
    r"comments? (?:are|is) (?:closed|moderated)|leave a (?:comment|reply)|have your say|tell us what you think|"
    r"abonnez-vous|inscrivez-vous|abonnieren sie|melden sie sich|suscríbete|iscriviti|assine|"
    # paywalls and log-in walls
    r"to continue reading|continue reading (?:this|the)|subscribe to (?:read|continue)|already a subscriber|"
    r"log ?in (?:for|to) (?:immediate )?(?:access|continue|read|comment)|to view the full story|subscribers? (?:also )?receive|"
    r"pour lire la suite|pour accéder en illimité|déjà abonné|weiterlesen mit|jetzt abonnieren|sólo para suscriptores|"
    r"to (?:post|leave|write) a comment|um kommentare zu schreiben|pour commenter|"
    # app and store promotions
    r"download (?:the|our) [\w ]{1,30} apps?|apps? for ios and android|available on the app store",
)
# cookie notices: removed when short, or when the phrase opens the block (outside quotes) and
# a second cue says it is a notice (another "cookie", a consent verb)
COOKIE = re.compile(
    r"(?:we|this (?:web)?site) uses? cookies|cookie (?:policy|settings)|accept (?:all )?cookies|"
    r"nous utilisons des cookies|ce site utilise des cookies|wir verwenden cookies|diese website verwendet cookies|"
    r"utilizamos cookies|este sitio (?:web )?utiliza cookies|utilizziamo (?:i )?cookie|questo sito utilizza (?:i )?cookie",
)
COOKIE_SECOND = re.compile(
    r"cookie.*cookie|you (?:agree|consent|accept)|by continuing|continu\w* (?:to )?(?:brows|us)|vous continuez|en continuant|"
    r"vous acceptez|stimmen sie|erklären sie sich|aceptas|acepta (?:el|su)|accetti|acconsenti|"
    # a pointer to the privacy policy
    r"privacy (?:policy|statement|notice)|protection des données|datenschutz|política de privacidad|informativa (?:sulla )?privacy"
)
AUTHOR_CONTACT = re.compile(
    r"^(?:write to|e-?mail|contact|reach|follow) [\w .'’-]{2,60}(?: at | on |: ?)\S*(?:@|twitter|facebook|instagram)",
)
# "Category: ...", "Tags: ...", "Photo credit: ...", "Image illustrative : ...", also after
# another label on the same short line ("News date: 04/21/2022 Category: Press Releases")
LABEL_LINE = re.compile(
    r"(?:^|\s)\W*(?:categor(?:y|ies)|tags?|filed under|posted in|topics?|keywords?|schlagw(?:ö|o)rte?r?|stichw(?:ö|o)rter|themen|étiquettes|mots[- ]clés|etiquetas|etichette|"
    r"credits?|crédits?|source|(?:main |top |featured )?(?:photos?|images?|fotos?|bild|illustrations?)(?: [\w-]+)?)\s*:",
)
LEADING_LABEL = re.compile(r"^\W*\w+(?: \w+){0,2}\s*:")
CREDITS = re.compile(
    r"^(?:(?:additional )?reporting|writing|editing|compiled|produced|edited) by\b|contributed (?:reporting )?to this (?:report|story)\.?$",
)
UI_WORDS = {
    "advertisement", "advertising", "anzeige", "werbung", "publicité", "publicidad", "pubblicità", "sponsored",
    "tags", "share", "comments", "comment", "print", "email", "e-mail", "menu", "related", "more",
}
# "By", in the languages of the patterns above
BYLINE_WORDS = ("by", "par", "von", "por", "di", "door", "av", "af")
BYLINE = re.compile(rf"^(?:{'|'.join(BYLINE_WORDS)})\s+[\w.'’ -]{{2,60}}$")
URL_TOKEN = re.compile(r"(?:https?://|www\.)\S+")
URL_ONLY = re.compile(r"^(?:https?://|www\.)\S+$")
# "2 hours ago", "il y a 3 heures", "vor 5 Minuten", "hace 2 horas" (on lower-cased text)
TIME_AGO = re.compile(
    r"\b\d{1,3}\s*(?:min(?:ute)?s?|hours?|hrs?|h|days?|weeks?)\s+ago\b|\bil y a \d{1,3}\s*(?:min|heure|jour)|"
    r"\bvor \d{1,3}\s*(?:min|stunde|tag)|\bhace \d{1,3}\s*(?:min|hora|día)"
)
TIME_OF_DAY = re.compile(r"\b\d{1,2}[:.h]\d{2}\b|\b\d{1,2} ?[ap]\.?m\.?", re.IGNORECASE)

#: the rules that may be switched off (benchmarks.extraction, ablation)
RULES = ("lead", "link_boxes", "promo", "share_bar", "repeated_lead")
# "Tweet this", "Share on Facebook", "Link this", "Reprints": the words of a bar of share buttons
SHARE_WORDS = re.compile(
    r"^(?:(?:tweet|share|link|digg|email|e-mail|mail|print|pin|save|copy(?: link)?|post|like|reprints?|comment|whatsapp|"
    r"facebook|twitter|linkedin|reddit|telegram|messenger|flipboard|pinterest|x)(?: (?:this|it|on|via|the|story|article|link|\w+ this))*)$"
)
# a slide's description or a slideshow's item is its picture's caption (a summary of a
# story told in pictures, "slideshow-summary", "article-dek--slideshow", is a standfirst)
NOT_STANDFIRST = re.compile(
    r"caption|credit|photo|image|media|video|audio|player|gallery|(?:slideshow|carousel|slide)[-_]*(?:item|description)",
    re.IGNORECASE,
)
# a box of other items around a heading (a header's "media" or "image" class is its picture)
PLAYER_BOX = re.compile(r"video|audio|player|gallery|slideshow|carousel", re.IGNORECASE)
MIN_STANDFIRST_CHARS = 40
MAX_STANDFIRST_CHARS = 600
# class, id or itemprop words of a standfirst (summary, dek, chapô, Vorspann, entradilla ...)
STANDFIRST_MARKS = re.compile(
    r"standfirst|summary|dek\b|deck|sub-?title|sub-?head|excerpt|intro|chapo|chapeau|teaser|abstract|description|"
    r"lede|article-?lead|lead-?text|\blead\b|vorspann|entradilla|sottotitolo|occhiello|alternativeheadline",
    re.IGNORECASE,
)
LEAD_WINDOW = 8
MIN_LEAD_PARAGRAPH = 60
MAX_PROMO_CHARS = 300
MAX_SHORT_CHARS = 120
LINK_ITEM_SHARE = 0.6
LINK_PARAGRAPH_SHARE = 0.85
MAX_DATELINE_CHARS = 80


def block_text(el: etree._Element) -> str:
    """The block's text, white space folded, soft hyphens (U+00AD, a hyphenation hint) and
    zero-width spaces (U+200B) dropped."""
    return " ".join("".join(el.itertext()).replace("\xad", "").replace("\u200b", "").split())


def lower(text: str) -> str:
    """Lower case for the patterns, the same length: "İ" lowers to "i" plus a combining dot."""
    return text.lower().replace("\u0307", "")


def link_share(el: etree._Element) -> float:
    """Share of an element's text that is link text (``<ref>``)."""
    total = len(block_text(el))
    if not total:
        return 0.0
    return sum(len(block_text(ref)) for ref in el.iter("ref")) / total


def _key(text: str) -> str:
    return re.sub(r"\W+", " ", unicodedata.normalize("NFKC", text).lower()).strip()


def _same_title(text: str, title: str) -> bool:
    """The headline, also as the page decorates it ("Headline | Section | Site")."""
    a, b = _key(text), _key(title)
    if not a or not b:
        return False
    short, long = sorted((a, b), key=len)
    if a == b or (len(short) >= 12 and long.startswith(short) and len(long) - len(short) <= 40):
        return True
    head_a, head_b = _key(text.split(" | ")[0]), _key(title.split(" | ")[0])
    return len(head_a) >= 12 and head_a == head_b and len(text) <= len(title) + 40


def is_link_box(el: etree._Element) -> bool:
    """A list whose items are mostly links (to other stories), with or without timestamps."""
    if el.tag != "list":
        return False
    items = [i for i in el.iter("item") if block_text(i)]
    if len(items) < 2:
        return False
    linked = [i for i in items if link_share(i) >= LINK_ITEM_SHARE and len(block_text(i)) <= MAX_PROMO_CHARS]
    return len(linked) >= 0.7 * len(items)


def is_promo(el: etree._Element) -> bool:
    """A block that sends the reader elsewhere rather than telling the story."""
    text = block_text(el)
    if not text:
        return True
    if len(text) > MAX_PROMO_CHARS:
        return False
    low = lower(text)
    if READ_MORE.match(low) or URL_ONLY.match(text) or AUTHOR_CONTACT.match(low) or CREDITS.search(low):
        return True
    if low.strip(" :|>·•") in UI_WORDS or not re.search(r"\w", text):
        return True
    if len(text) <= MAX_SHORT_CHARS and sum(len(u) for u in URL_TOKEN.findall(text)) >= 0.4 * len(text):
        return True  # "Listen: https://..." and the like
    if len(text) <= MAX_SHORT_CHARS and LEADING_LABEL.match(text) and (
        LABEL_LINE.match(low) or (LABEL_LINE.search(low) and not text.endswith((".", "?", "!", '"', "”")))
    ):
        return True  # a label line, or labels after another label ("News date: ... Category: ...")
    cookie = COOKIE.search(low)
    if cookie and (
        len(text) <= MAX_SHORT_CHARS
        or (cookie.start() <= 60 and not re.search(r"[\"“«„]", low[: cookie.start() + 1]) and COOKIE_SECOND.search(low))
    ):
        return True
    match = CALL_TO_ACTION.search(low)
    if match and (len(text) <= MAX_SHORT_CHARS or match.start() <= 40):
        return True
    if el.tag == "head" and link_share(el) >= LINK_PARAGRAPH_SHARE and is_date_line((el.tail or "").strip()):
        return True  # a linked headline with its timestamp: a teaser for another story
    return el.tag == "p" and link_share(el) >= LINK_PARAGRAPH_SHARE and len(text) <= 200


def is_date_line(text: str) -> bool:
    """A short line that only states when (e.g. "Updated at 1:23 p.m.", "Published 18 November 2019")."""
    if len(text) > MAX_DATELINE_CHARS:
        return False
    dates = find_text_dates(text, short_years=True)
    rest = text
    for offset, _ in dates:
        rest = rest[:offset]  # text before the first date is the label
    if dates:
        return len(rest) <= 40
    return (bool(TIME_OF_DAY.search(text)) or bool(TIME_AGO.search(lower(text)))) and len(text) <= 40


@dataclass
class Story:
    """The body stage's result.

    Attributes:
        text: the story, one paragraph (or in-story heading) per line.
        standfirst: the summary printed between the headline and the story, or ``None``.
    """

    text: str = ""
    standfirst: str | None = None


def run(document, tree: etree._Element, title: str | None, off: set[str] = frozenset()) -> Story:
    """The story of trafilatura's ``document`` (:mod:`~pipelines.extraction.main`), read
    against the page ``tree`` for its standfirst, with the rules not in ``off`` applied."""
    if document is None or document.body is None:
        return Story()
    body = clean_body(document.body, title, off)
    lead = standfirst(tree, title, body)
    if lead is not None:
        for el in list(body)[:LEAD_WINDOW]:
            if _key(block_text(el)) == _key(lead):
                _remove(el)
    return Story(to_text(body), lead)


def clean_body(body: etree._Element, title: str | None, off: set[str] = frozenset()) -> etree._Element:
    """A copy of trafilatura's main-content tree without the boilerplate listed in this
    module (the rules not in ``off``)."""
    body = deepcopy(body)
    _wrap_loose_text(body)
    if "lead" not in off:
        _drop_lead_furniture([el for el in body if el.tag in BLOCKS], title, off)
    if "repeated_lead" not in off:
        _drop_repeated_lead(body)
    _drop_boxes(body, off)
    return body


def _wrap_loose_text(body: etree._Element) -> None:
    """Text loose between blocks (full mode's fallback extractors return a page's bare text
    as the tails of its headings) becomes paragraphs of its own, so that the rules, which
    remove whole blocks, never take it with a heading. A date left as a tail stays: it is
    the timestamp of the linked headline before it (:func:`is_promo`)."""
    if body.text and body.text.strip():
        p = etree.Element("p")
        p.text, body.text = body.text, None
        body.insert(0, p)
    for el in list(body):
        if el.tail and el.tail.strip() and not is_date_line(el.tail.strip()):
            p = etree.Element("p")
            p.text, el.tail = el.tail, None
            el.addnext(p)


_NOT_SHOWN = ("script", "style", "noscript", "template")
# elements a browser lays out as blocks (a line of their own): their text is not run together
_BLOCK_TAGS = frozenset(
    {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "section", "header", "footer",
     "figure", "figcaption", "blockquote", "table", "tr", "td", "th", "dd", "dt"}
)


def _shown_text(el: etree._Element) -> str:
    """An element's text as a reader sees it, white space folded: a script's code inside a
    summary's container is not, inline markup adds no space ("£<b>4</b>m"), and blocks
    are not run together."""
    parts: list[str] = []

    def walk(node: etree._Element) -> None:
        block = node.tag in _BLOCK_TAGS
        if block:
            parts.append(" ")
        parts.append(node.text or "")
        for child in node:
            if isinstance(child.tag, str) and child.tag not in _NOT_SHOWN:
                walk(child)
            parts.append(child.tail or "")
        if block:
            parts.append(" ")

    walk(el)
    return " ".join("".join(parts).split())


def standfirst(tree: etree._Element, title: str | None, body: etree._Element) -> str | None:
    """The standfirst: after the page's headline (its ``<h1>``) and before the story's
    first paragraph, the first element marked as a summary (:data:`STANDFIRST_MARKS` in its
    class, id or itemprop) or the first ``<h2>`` there, when it reads as a sentence or two
    (40 to 600 characters of text outside scripts, under 30% link text) and is no byline,
    date, notice or the headline printed again; else ``None``; never a picture's caption or
    credit. (A ``<head>`` kept by trafilatura before the first paragraph is no standfirst
    unless the page marks it so: it may be the story's first heading. A lead block the
    cleaning stage unmarked is the standfirst only where trafilatura left it out of the
    story: it is not lost.)"""
    headlines = tree.xpath("//body//h1")
    if not headlines:
        return None
    want = _key(title or "")
    h1 = next((h for h in headlines if want and _key(h.text_content()) and _key(h.text_content()) in want), headlines[0])
    first = next((block_text(el) for el in body if el.tag == "p" and len(block_text(el)) >= MIN_LEAD_PARAGRAPH), "")
    snippet = " ".join(first.split()[:6])
    story_keys = None
    for el in h1.xpath("following::*[position() <= 80]"):
        if not isinstance(el.tag, str) or el.tag in ("script", "style", "noscript"):
            continue
        if snippet and (snippet[:20] in " ".join((el.text or "").split()) or (el.tag == "p" and snippet in " ".join(el.text_content().split()))):
            return None  # the story has begun (its first paragraph, or a block whose own text starts it)
        unmarked = el.get(LEAD_MARKS_KEPT)  # a lead the cleaning stage judged story prose (clean.keep_leads)
        if unmarked:
            story_keys = story_keys or {_key(block_text(b)) for b in list(body)[:LEAD_WINDOW]}
            if _key(el.text_content()) in story_keys:
                continue  # trafilatura kept it in the story: it stays there
        marks = f"{el.get('class', '')} {el.get('id', '')} {el.get('itemprop', '')} {unmarked or ''}"
        if el.tag == "h2" or (el.tag in ("p", "div", "h3", "span", "section") and STANDFIRST_MARKS.search(marks)):
            if NOT_STANDFIRST.search(marks) or any(a.tag in ("figure", "figcaption") for a in el.iterancestors()):
                continue  # a picture's caption or credit
            if _in_a_card(el):
                continue  # a video's or another story's card
            text = _shown_text(el)
            if snippet and snippet in text:
                return None  # the story has begun
            if not MIN_STANDFIRST_CHARS <= len(text) <= MAX_STANDFIRST_CHARS or (title and _key(text) in _key(title)):
                continue  # too short or long, or the headline printed again (a site's logo in the <h1>)
            links = sum(len(" ".join(a.text_content().split())) for a in el.iter("a"))
            low = lower(text)
            if links <= 0.3 * len(text) and not (BYLINE.match(low) or is_date_line(text) or READ_MORE.match(low) or CALL_TO_ACTION.search(low)):
                return text
    return None


def _in_a_card(el: etree._Element) -> bool:
    """Whether ``el`` sits in a link (a teaser's heading) or, within four levels and inside
    the story's ``<article>``/``<main>``, in a video player's, a gallery's or a carousel's
    box (:data:`PLAYER_BOX`: a player's "up next" card)."""
    for depth, parent in enumerate(el.iterancestors()):
        if parent.tag == "a":
            return True
        if depth >= 4 or parent.tag in ("article", "main", "body", "header"):
            return False
        if PLAYER_BOX.search(f"{parent.get('class', '')} {parent.get('id', '')}"):
            return True
    return False


def _drop_repeated_lead(body: etree._Element) -> None:
    """A short first line that the next paragraph starts with ("JAKARTA" above "JAKARTA
    (Reuters) - ..."): the page prints a dateline twice."""
    blocks = [el for el in body if el.tag in BLOCKS]
    for el, following in zip(blocks[:LEAD_WINDOW], blocks[1 : LEAD_WINDOW + 1]):
        text = block_text(el)
        if text and len(text) <= MAX_DATELINE_CHARS and block_text(following).startswith(text) and len(block_text(following)) > len(text):
            _remove(el)
            return


def is_share_bar(el: etree._Element) -> bool:
    """A list (or line) of share buttons: every item is a share word ("Tweet this", "Link
    this", "Share on Facebook", "Reprints")."""
    items = [lower(block_text(i)).strip(" |·•") for i in el.iter("item")] if el.tag == "list" else lower(block_text(el)).split(" | ")
    items = [i for i in items if i]
    return bool(items) and all(len(i) <= 30 and SHARE_WORDS.match(i) for i in items) and (len(items) >= 2 or el.tag != "list")


def _remove(el: etree._Element) -> None:
    parent = el.getparent()
    if parent is not None:
        # the tail goes with it: trafilatura puts none between blocks, but for the date
        # after a linked teaser headline
        parent.remove(el)


def _drop_lead_furniture(blocks: list[etree._Element], title: str | None, off: set[str]) -> None:
    """Above the first real paragraph: the headline, headings, bylines, date lines and
    lists of short items (date, section, comment count) go; other short lines there, such
    as a salutation, stay."""
    for el in blocks[:LEAD_WINDOW]:
        text = block_text(el)
        furniture = (
            not text
            or el.tag == "head"
            or (el.tag == "list" and _is_meta_list(el))
            or (title and _same_title(text, title))
            or BYLINE.match(lower(text))
            or is_date_line(text)
            or ("promo" not in off and el.tag != "list" and is_promo(el))  # a cookie notice, a "Share" line
        )
        if furniture:
            _remove(el)
        elif el.tag == "p" and len(text) > MIN_LEAD_PARAGRAPH:
            return  # the story has begun


def _is_meta_list(el: etree._Element) -> bool:
    """A list of the story's metadata (its date, section, comment count), not of its points."""
    items = [block_text(i) for i in el.iter("item")]
    return bool(items) and all(len(t) <= 40 for t in items) and any(is_date_line(t) for t in items)


def _drop_boxes(body: etree._Element, off: set[str]) -> None:
    children = list(body)
    for i, el in enumerate(children):
        if el.getparent() is None:
            continue
        if (
            ("link_boxes" not in off and is_link_box(el))
            or ("share_bar" not in off and el.tag in ("list", "p") and is_share_bar(el))
            or ("promo" not in off and el.tag in ("p", "head", "item", "quote") and is_promo(el))
        ):
            _remove(el)
            # the heading or label that introduced the box ("Latest News", "Related:")
            j = i - 1
            while j >= 0 and children[j].getparent() is not None:
                prev = children[j]
                label = block_text(prev)
                if prev.tag == "head" or (len(label) <= 40 and not label.endswith((".", "!", "?", '"', "”"))):
                    if el.tag == "list" or READ_MORE.match(lower(label)):
                        _remove(prev)
                        j -= 1
                        continue
                break
    # inside lists, tables and quotes
    if "promo" in off:
        return
    for el in list(body.iter("item", "cell", "p")):
        if el.getparent() is not None and el.getparent() is not body and is_promo(el):
            text = block_text(el)
            low = lower(text)
            if READ_MORE.match(low) or LABEL_LINE.match(low) or CALL_TO_ACTION.search(low) or COOKIE.search(low):
                _remove(el)


def to_text(body: etree._Element) -> str:
    """Plain text of a main-content tree: one block per line (trafilatura's own serialiser).

    Links become their text (the URLs are not part of the story's text). White space inside
    a block is folded to one space, as a browser renders it (CSS ``white-space: normal``):
    only a ``<br>`` (trafilatura's ``<lb/>``) breaks a line; code keeps its lines. Changes ``body``.
    """
    etree.strip_tags(body, "ref")
    for el in body.iter():
        if el.tag == "code" or any(a.tag == "code" for a in el.iterancestors()):
            continue
        if el.text:
            el.text = _FOLD.sub(" ", el.text)
        if el.tail:
            el.tail = _FOLD.sub(" ", el.tail)
    text = xmltotxt(body, False) or ""
    return "\n".join(line.strip() for line in text.split("\n") if line.strip())


_FOLD = re.compile(r"\s+")
