"""Stage 3: take the boilerplate that trafilatura left out of its main-content tree.

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
- an "About <organisation>" box at the end of a press release, and the author's bio with
  contact details closing a post.
"""

from __future__ import annotations

import re
import unicodedata
from copy import deepcopy

from lxml import etree
from trafilatura.xml import xmltotxt

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
    r"click here|tap here|download (?:the|our) app|get the [\w ]{1,30} app|join (?:us|our)|"
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
ABOUT_BOX = re.compile(r"^about (?:the )?[\w&.' -]{2,50}$")
# "Jane Roe is the founder of ... Follow her on ...": the author's bio closing a post
AUTHOR_BIO = re.compile(r"^(?:[A-Z][\w'’.-]+ ){1,3}(?:is|was) (?:a|an|the)\b")
CONTACT = re.compile(r"\bfollow (?:us|me|him|her|them)\b|[\w.+-]+@[\w-]+\.\w|(?<![\w@])@\w|\bwww\.|https?://", re.IGNORECASE)
MAX_BIO_CHARS = 600
URL_TOKEN = re.compile(r"(?:https?://|www\.)\S+")
URL_ONLY = re.compile(r"^(?:https?://|www\.)\S+$")
# "2 hours ago", "il y a 3 heures", "vor 5 Minuten", "hace 2 horas" (on lower-cased text)
TIME_AGO = re.compile(
    r"\b\d{1,3}\s*(?:min(?:ute)?s?|hours?|hrs?|h|days?|weeks?)\s+ago\b|\bil y a \d{1,3}\s*(?:min|heure|jour)|"
    r"\bvor \d{1,3}\s*(?:min|stunde|tag)|\bhace \d{1,3}\s*(?:min|hora|día)"
)
TIME_OF_DAY = re.compile(r"\b\d{1,2}[:.h]\d{2}\b|\b\d{1,2} ?[ap]\.?m\.?", re.IGNORECASE)

STEPS = ("lead", "boxes", "about")
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
    dates = find_text_dates(text)
    rest = text
    for offset, _ in dates:
        rest = rest[:offset]  # text before the first date is the label
    if dates:
        return len(rest) <= 40
    return (bool(TIME_OF_DAY.search(text)) or bool(TIME_AGO.search(lower(text)))) and len(text) <= 40


def clean_body(body: etree._Element, title: str | None) -> etree._Element:
    """A copy of trafilatura's main-content tree without the boilerplate listed in this module."""
    body = deepcopy(body)
    blocks = [el for el in body if el.tag in BLOCKS]
    if "lead" in STEPS:
        _drop_lead_furniture(blocks, title)
    if "boxes" in STEPS:
        _drop_boxes(body)
    if "about" in STEPS:
        _drop_about_box(body)
    return body


def _remove(el: etree._Element) -> None:
    parent = el.getparent()
    if parent is not None:
        # the tail goes with it: trafilatura puts none between blocks, but for the date
        # after a linked teaser headline
        parent.remove(el)


def _drop_lead_furniture(blocks: list[etree._Element], title: str | None) -> None:
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
            or (el.tag != "list" and is_promo(el))  # a cookie notice, a "Share" line
        )
        if furniture:
            _remove(el)
        elif el.tag == "p" and len(text) > MIN_LEAD_PARAGRAPH:
            return  # the story has begun


def _is_meta_list(el: etree._Element) -> bool:
    """A list of the story's metadata (its date, section, comment count), not of its points."""
    items = [block_text(i) for i in el.iter("item")]
    return bool(items) and all(len(t) <= 40 for t in items) and any(is_date_line(t) for t in items)


def _drop_boxes(body: etree._Element) -> None:
    children = list(body)
    for i, el in enumerate(children):
        if el.getparent() is None:
            continue
        if is_link_box(el) or (el.tag in ("p", "head", "item", "quote") and is_promo(el)):
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
    for el in list(body.iter("item", "cell", "p")):
        if el.getparent() is not None and el.getparent() is not body and is_promo(el):
            text = block_text(el)
            low = lower(text)
            if READ_MORE.match(low) or LABEL_LINE.match(low) or CALL_TO_ACTION.search(low) or COOKIE.search(low):
                _remove(el)


def _drop_about_box(body: etree._Element) -> None:
    """A heading "About X" among the last blocks, and the paragraphs that follow it; or, in
    the last two blocks, the author's bio ("Jane Roe is the founder of ... Follow her on")."""
    children = list(body)
    for el in children[-2:]:
        text = block_text(el)
        if el.tag == "p" and len(text) <= MAX_BIO_CHARS and AUTHOR_BIO.match(text) and CONTACT.search(text):
            _remove(el)
    start = max(1, len(children) - 4)
    for i in range(start, len(children)):
        text = block_text(children[i])
        if children[i].tag in ("head", "p") and ABOUT_BOX.match(lower(text)):
            _remove(children[i])
            for el in children[i + 1 :]:
                if el.tag != "p":
                    break
                _remove(el)
            return


def to_text(body: etree._Element) -> str:
    """Plain text of a main-content tree: one block per line (trafilatura's own serialiser).

    Links become their text (the URLs are not part of the story's text). Changes ``body``.
    """
    etree.strip_tags(body, "ref")
    text = xmltotxt(body, False) or ""
    return "\n".join(line.strip() for line in text.split("\n") if line.strip())
