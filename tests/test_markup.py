"""crawler.markup (the complexity guard on a page's bytes) and crawler.charset (encodings as
browsers read them), on their own and through the extraction (issue 14, problems 4 and 6)."""

from __future__ import annotations

import gzip

import pytest

from crawler.charset import utf16_byte_order, wide_label_meaning
from crawler.markup import MAX_ATTRIBUTES, MAX_DEPTH, MAX_ELEMENTS, complexity_problem, depth_problem, measure
from pipelines.extraction import ExtractionError, extract
from crawler.sniff import sniff_binary
from pipelines.extraction.html import parse_document
from tests.battery import CHARSET_TEXT, _charset_page
from tests.conftest import requires_shared
from tests.hostile import attributes_bomb, deep_nesting, story_html
from tests.pages import DATA

# -- 4: complexity, on the bytes ----------------------------------------------------------------


def test_issue14_4_the_attributes_bomb_of_the_issue_is_refused_before_any_parse():
    """200,000 attributes on <body> (2.6 MB): lxml parsed it for about 60 s before."""
    page = attributes_bomb(200_000)
    assert 2_400_000 < len(page) < 2_800_000
    with pytest.raises(ExtractionError) as refused:
        extract(page, "http://x.example/bomb")
    assert refused.value.kind == "too_complex"
    assert str(refused.value).startswith("an element with over 1000 attributes")


@pytest.mark.parametrize(
    ("page", "reason"),
    [
        (story_html("Spread").replace(b"<p>", b"<p " + b" ".join(b"a%d=1" % i for i in range(999)) + b">"),
         None),  # 6 elements of 999 attributes: under both limits
        (b"<html><body>" + (b"<i " + b" ".join(b"a%d=1" % i for i in range(500)) + b">x</i>") * (MAX_ATTRIBUTES // 500 + 1),
         f"{(MAX_ATTRIBUTES // 500 + 1) * 500} attributes, over {MAX_ATTRIBUTES}"),
        (b"<html><body>" + b"<br>" * (MAX_ELEMENTS + 1), f"over {MAX_ELEMENTS} elements"),
        (b"<html><body>" + b"<br>" * (MAX_ELEMENTS - 2), None),  # html and body are elements too
        (b"<html><body>" + b"</div>" * 100_000, "over 90000 tags"),
        (deep_nesting(MAX_DEPTH + 1), None),  # nesting is read on the tree (below)
    ],
)
def test_issue14_4_limits(page, reason):
    found = complexity_problem(page)
    assert (found.split(":")[0] if found else None) == reason


@pytest.mark.parametrize(("levels", "refused"), [(MAX_DEPTH - 2, False), (MAX_DEPTH - 1, True), (1_000, True), (5_000, True)])
def test_nesting_is_read_on_the_parsed_tree(levels, refused):
    # deep_nesting(n) nests n divs, then the article and its paragraphs: n + 2 levels below body
    tree, _ = parse_document(deep_nesting(levels), guard=False)
    assert (depth_problem(tree) is not None) == refused
    if refused:
        with pytest.raises(ExtractionError) as error:
            extract(deep_nesting(levels), "http://x.example/deep")
        assert error.value.kind == "too_complex"
        assert str(error.value).startswith(f"elements nested over {MAX_DEPTH} levels deep")


def test_nesting_follows_the_tree_builder_not_the_raw_tag_count():
    # void elements, self-closed tags, and elements closed by their next sibling do not nest
    for page in (
        b"<ul>" + b"<li><p>item<br><img src=x>" * 1000 + b"</ul>",
        b"<svg>" + b"<path d='M0'/>" * 1000 + b"</svg>",
        b"<table>" + b"<tr><td>a<td>b" * 500 + b"</table>",
        b"<div><span><b>x</div>" * 300,  # an end tag closes what was opened inside its element
    ):
        tree, _ = parse_document(b"<html><body>" + page + b"</body></html>")
        assert depth_problem(tree) is None, page[:30]


def test_text_comments_and_quoted_values_are_not_markup():
    tags = b"<br>" * (MAX_ELEMENTS + 5)
    for page in (
        b"<script>var s = '" + tags + b"';</script><p>x</p>",
        b"<SCRIPT>var s = '</scripts>" + tags + b"';</Script ><p>x</p>",
        b"<style>/*" + tags + b"*/</style>",
        b"<!-- " + tags + b" -->",
        b"<textarea>" + tags + b"</textarea>",
        b"<a title=\"" + tags + b"\">x</a>",
    ):
        assert complexity_problem(page) is None, page[:40]
    # a stray quote is part of an attribute name (WHATWG), not the start of a value
    assert measure(b'<script src="a.js" " type="text/javascript"></script>').most_attributes == 3


def test_utf16_markup_is_measured_too():
    page = attributes_bomb(5_000).decode().encode("utf-16-be")
    assert complexity_problem(page).startswith("an element with over 1000 attributes")


@requires_shared
def test_no_real_page_is_too_complex():
    pages = [p for p in DATA.rglob("*") if p.is_file() and p.name.endswith((".html", ".html.gz"))]
    assert len(pages) > 400
    for path in pages:
        body = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        assert complexity_problem(body) is None, path
        try:
            tree, _ = parse_document(body, guard=False)
        except ExtractionError as error:  # the data's few pages that are no HTML document
            assert error.kind != "too_complex", path
            continue
        assert depth_problem(tree) is None, path


# -- 6: charsets as browsers read them ------------------------------------------------------------

WIDE_LABELS = ["utf-16", "UTF-16", "utf-16le", "utf-16be", "utf16", "utf-32", "utf-32le", "utf-32be"]


@pytest.mark.parametrize("label", WIDE_LABELS)
@pytest.mark.parametrize("form", ["<meta charset='{}'>", "<meta http-equiv='Content-Type' content='text/html; charset={}'>"])
def test_issue14_6_a_meta_naming_utf16_or_utf32_on_utf8_bytes_means_utf8(label, form):
    tree, encoding = parse_document(_charset_page("utf-8", form.format(label)), "text/html")
    assert encoding == "utf-8" and CHARSET_TEXT in tree.text_content()


def test_a_utf32_meta_is_ignored_so_legacy_bytes_are_still_sniffed():
    tree, encoding = parse_document(_charset_page("cp1252", "<meta charset='utf-32'>"), "text/html")
    assert encoding == "cp1252" and CHARSET_TEXT.replace("—", "-")[:20] in tree.text_content().replace("—", "-")


@pytest.mark.parametrize("order", ["utf-16-be", "utf-16-le"])
@pytest.mark.parametrize("content_type", ["text/html", "text/html; charset=utf-16", None])
def test_issue14_6_utf16_without_bom_in_both_byte_orders(order, content_type):
    page = _charset_page(order, "<meta charset='utf-16'>")
    assert sniff_binary(page) is None and utf16_byte_order(page) == order
    tree, encoding = parse_document(page, content_type)
    assert encoding == order and CHARSET_TEXT in tree.text_content()


def test_binary_is_still_binary_and_labels_mean_what_they_say():
    assert sniff_binary(b"\x00\x01\x02\x03" * 64) == "binary"
    assert utf16_byte_order("plain text, not markup".encode("utf-16-le")) is None
    assert utf16_byte_order("<p>x</p>".encode("utf-32-le")) is None
    assert [wide_label_meaning(x) for x in ("utf-16-le", "utf_32be", "utf-8", "windows-1252", None)] == ["utf-8", "", None, None, None]


@pytest.mark.parametrize("chars, refused", [(9_000_000, False), (10_500_000, True)])
def test_a_text_too_long_for_libxml2_is_refused_not_extracted_as_empty(chars, refused):
    page = f"<html><body><article><h1>Long</h1><p>{'word ' * (chars // 5)}</p><p>The end.</p></article></body></html>".encode()
    if refused:
        with pytest.raises(ExtractionError, match="limit of 10,000,000 characters") as caught:
            parse_document(page)
        assert caught.value.kind == "too_complex"
    else:
        tree, _ = parse_document(page)
        assert tree.xpath("string(//p[2])") == "The end."


def test_void_elements_libxml2_does_not_know_do_not_nest_what_follows():
    # libxml2 2.14 nests the text after each <wbr> inside it: 250 line-break hints in one
    # paragraph were 250 levels, refused as too deep
    words = "".join(f"segment{i}<wbr>" for i in range(250))
    page = f"<html><body><article><h1>Long words</h1><p>{words}</p><p>The story goes on after them.</p></article></body></html>"
    tree, _ = parse_document(page.encode())
    assert depth_problem(tree) is None
    assert tree.xpath("string(//p[1])").startswith("segment0segment1segment2")
    for tag in ("wbr", "source", "track", "embed", "keygen"):
        tree, _ = parse_document(f"<html><body><div>a<{tag} src='x'>b<{tag.upper()}/>c</div></body></html>".encode())
        assert [len(el) for el in tree.find("body/div")] == [0, 0], tag
