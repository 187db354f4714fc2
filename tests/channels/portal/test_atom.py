"""render_atom: a valid Atom 1.0 document that survives a round trip through an XML parser."""

from __future__ import annotations

import unicodedata
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone

import pytest

from adapters.channels.portal.atom import AtomEntry, AtomFeed, render_atom, rfc3339, urn_uuid

NS = {"a": "http://www.w3.org/2005/Atom"}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
HANOI = timezone(timedelta(hours=7))


def entry(**overrides) -> AtomEntry:
    bulletin_id = uuid.uuid4()
    fields = {
        "id": urn_uuid(bulletin_id),
        "title": "Cảnh báo lừa đảo",
        "link": f"https://gandan.example/b/{bulletin_id}",
        "updated": NOW,
        "published": NOW,
        "summary": "Tóm tắt",
        "content": "Đoạn một.\nĐoạn hai.",
        "categories": ("scam_warning",),
        "author_name": "Công an phường Hoàng Liệt",
    }
    return AtomEntry(**(fields | overrides))


def feed(*entries: AtomEntry, **overrides) -> AtomFeed:
    fields = {
        "id": "tag:gandan.example,2026:wards/hoang-liet/bulletins",
        "title": "Bản tin Công an phường Hoàng Liệt",
        "self_url": "https://api.gandan.example/feeds/hoang-liet/bulletins.atom",
        "alternate_url": "https://gandan.example/wards/hoang-liet",
        "updated": NOW,
        "author_name": "Công an phường Hoàng Liệt",
        "entries": entries,
    }
    return AtomFeed(**(fields | overrides))


def parse(document: bytes) -> ET.Element:
    assert document.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    document.decode("utf-8")  # strict: the bytes are UTF-8
    return ET.fromstring(document)


def test_feed_has_the_required_atom_elements():
    root = parse(render_atom(feed(entry())))

    assert root.tag == "{http://www.w3.org/2005/Atom}feed"
    assert root.get(XML_LANG) == "vi"
    assert (
        root.findtext("a:id", namespaces=NS) == "tag:gandan.example,2026:wards/hoang-liet/bulletins"
    )
    assert root.findtext("a:title", namespaces=NS) == "Bản tin Công an phường Hoàng Liệt"
    assert root.findtext("a:updated", namespaces=NS) == "2026-11-23T08:00:00Z"
    [self_link] = root.findall("a:link[@rel='self']", NS)
    assert self_link.get("href") == "https://api.gandan.example/feeds/hoang-liet/bulletins.atom"
    assert self_link.get("type") == "application/atom+xml"
    assert (
        root.find("a:link[@rel='alternate']", NS).get("href")
        == "https://gandan.example/wards/hoang-liet"
    )
    assert root.findtext("a:author/a:name", namespaces=NS) == "Công an phường Hoàng Liệt"


def test_entry_has_id_title_dates_link_category_author_and_paragraphs():
    one = entry(published=NOW - timedelta(hours=2))
    node = parse(render_atom(feed(one))).find("a:entry", NS)

    assert node.findtext("a:id", namespaces=NS) == one.id
    assert node.findtext("a:id", namespaces=NS).startswith("urn:uuid:")
    assert node.findtext("a:title", namespaces=NS) == "Cảnh báo lừa đảo"
    assert node.findtext("a:updated", namespaces=NS) == "2026-11-23T08:00:00Z"
    assert node.findtext("a:published", namespaces=NS) == "2026-11-23T06:00:00Z"
    link = node.find("a:link", NS)
    assert (link.get("rel"), link.get("type"), link.get("href")) == (
        "alternate",
        "text/html",
        one.link,
    )
    assert [c.get("term") for c in node.findall("a:category", NS)] == ["scam_warning"]
    assert node.findtext("a:author/a:name", namespaces=NS) == "Công an phường Hoàng Liệt"
    assert node.findtext("a:summary", namespaces=NS) == "Tóm tắt"
    content = node.find("a:content", NS)
    assert content.get("type") == "html"
    assert content.text == "<p>Đoạn một.</p><p>Đoạn hai.</p>"


def test_markup_ampersands_and_quotes_are_escaped_and_survive_the_round_trip():
    nasty = "Giả danh <b>công an</b> & \"ngân hàng\" 'OTP'"
    one = entry(
        title=nasty,
        summary=nasty,
        content=f"{nasty}\n\n</content><script>alert(1)</script>",
        link='https://gandan.example/b/1?a=1&b="2"',
        categories=('kind "x" & <y>',),
    )
    document = render_atom(feed(one, title=nasty))
    root = parse(document)
    node = root.find("a:entry", NS)

    assert b"<b>" not in document and b"<script>" not in document
    assert root.findtext("a:title", namespaces=NS) == nasty
    assert node.findtext("a:title", namespaces=NS) == nasty
    assert node.findtext("a:summary", namespaces=NS) == nasty
    assert node.find("a:link", NS).get("href") == 'https://gandan.example/b/1?a=1&b="2"'
    assert node.find("a:category", NS).get("term") == 'kind "x" & <y>'
    assert node.findtext("a:content", namespaces=NS) == (
        "<p>Giả danh &lt;b&gt;công an&lt;/b&gt; &amp; &quot;ngân hàng&quot; &#x27;OTP&#x27;</p>"
        "<p>&lt;/content&gt;&lt;script&gt;alert(1)&lt;/script&gt;</p>"
    )


def test_vietnamese_is_utf8_and_nfc():
    decomposed = unicodedata.normalize("NFD", "Phường Hoàng Liệt: cảnh giác")
    root = parse(render_atom(feed(entry(title=decomposed, content=decomposed))))
    node = root.find("a:entry", NS)

    assert node.findtext("a:title", namespaces=NS) == "Phường Hoàng Liệt: cảnh giác"
    assert unicodedata.is_normalized("NFC", node.findtext("a:content", namespaces=NS))


def test_characters_xml_cannot_carry_are_dropped_instead_of_breaking_the_feed():
    root = parse(render_atom(feed(entry(title="Bản\x00 tin\x0b khẩn\ufffe", content="a\x1fb"))))
    node = root.find("a:entry", NS)

    assert node.findtext("a:title", namespaces=NS) == "Bản tin khẩn"
    assert node.findtext("a:content", namespaces=NS) == "<p>ab</p>"


def test_plain_text_content_keeps_its_lines():
    node = parse(render_atom(feed(entry(content="Dòng 1\nDòng <2>", content_type="text")))).find(
        "a:entry", NS
    )

    content = node.find("a:content", NS)
    assert (content.get("type"), content.text) == ("text", "Dòng 1\nDòng <2>")


def test_entries_are_newest_first():
    old = entry(title="cũ", published=NOW - timedelta(days=2), updated=NOW)
    new = entry(title="mới", published=NOW - timedelta(hours=1), updated=NOW - timedelta(hours=1))
    unpublished = entry(title="giữa", published=None, updated=NOW - timedelta(days=1))

    root = parse(render_atom(feed(old, unpublished, new)))

    titles = [e.findtext("a:title", namespaces=NS) for e in root.findall("a:entry", NS)]
    assert titles == ["mới", "giữa", "cũ"]


def test_dates_are_rfc3339_in_utc_and_naive_ones_are_refused():
    assert (
        rfc3339(datetime(2026, 11, 23, 15, 30, 5, 123456, tzinfo=HANOI)) == "2026-11-23T08:30:05Z"
    )
    with pytest.raises(ValueError):
        render_atom(feed(entry(updated=datetime(2026, 11, 23, 8, 0))))


def test_an_empty_feed_is_still_valid():
    root = parse(render_atom(feed()))

    assert root.findall("a:entry", NS) == []
    assert root.findtext("a:author/a:name", namespaces=NS) == "Công an phường Hoàng Liệt"


def test_optional_parts_are_left_out():
    bare = entry(published=None, summary=None, content=None, categories=(), author_name=None)
    root = parse(render_atom(feed(bare, alternate_url=None)))
    node = root.find("a:entry", NS)

    assert root.find("a:link[@rel='alternate']", NS) is None
    for name in ("published", "summary", "content", "category", "author"):
        assert node.find(f"a:{name}", NS) is None
