"""A ward's published bulletins as an Atom 1.0 feed (RFC 4287), for portal editors to pull.

`render_atom` is a pure function of the dataclasses below, so the route that serves
/feeds/{ward_code}/bulletins.atom only has to load bulletins and build an `AtomFeed`.

Text goes through NFC and loses the characters XML 1.0 cannot carry (ElementTree would write
them and produce a document no reader can parse). Bulletin bodies are plain text: with the
default `content_type="html"` each line becomes an escaped `<p>`, which keeps paragraphs in feed
readers and portal importers; "text" keeps the body as it is.
"""

from __future__ import annotations

import html
import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from domain.text import nfc

ATOM_NS = "http://www.w3.org/2005/Atom"
MEDIA_TYPE = "application/atom+xml; charset=utf-8"

_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True, slots=True, kw_only=True)
class AtomEntry:
    """One bulletin. `id` must never change for the bulletin: readers deduplicate on it."""

    id: str  # urn:uuid:<bulletin id>, see urn_uuid()
    title: str
    link: str  # the bulletin's public page
    updated: datetime
    published: datetime | None = None
    summary: str | None = None
    content: str | None = None  # plain text, paragraphs separated by newlines
    content_type: Literal["html", "text"] = "html"
    categories: tuple[str, ...] = ()  # the bulletin kind, e.g. "scam_warning"
    author_name: str | None = None  # the ward; the feed's author when None


@dataclass(frozen=True, slots=True, kw_only=True)
class AtomFeed:
    """A ward's feed. `author_name` (the ward) makes the feed valid even with no entries."""

    id: str  # a tag: URI or urn:uuid that stays the same for the ward forever
    title: str
    self_url: str
    updated: datetime
    author_name: str
    alternate_url: str | None = None
    subtitle: str | None = None
    language: str = "vi"
    entries: tuple[AtomEntry, ...] = ()


def urn_uuid(value: uuid.UUID) -> str:
    return f"urn:uuid:{value}"


def rfc3339(moment: datetime) -> str:
    """UTC with a Z; a naive datetime is refused, as its offset would be a guess."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("Atom dates need a timezone")
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def xml_text(text: str) -> str:
    return _NOT_XML_CHAR.sub("", nfc(text))


def html_paragraphs(text: str) -> str:
    """Plain text as HTML: each non-blank line one escaped <p>. Also used by the WordPress push."""
    lines = (line.strip() for line in xml_text(text).split("\n"))
    return "".join(f"<p>{html.escape(line)}</p>" for line in lines if line)


def render_atom(feed: AtomFeed) -> bytes:
    """The feed as UTF-8 XML, entries newest first (by published, else updated)."""
    # Plain tags under a literal xmlns: ElementTree's own namespace handling would either invent
    # ns0: prefixes or refuse the unqualified attributes Atom uses (rel, href, term).
    root = ET.Element("feed", {"xmlns": ATOM_NS, "xml:lang": feed.language})
    _text(root, "id", feed.id)
    _text(root, "title", feed.title, type="text")
    if feed.subtitle:
        _text(root, "subtitle", feed.subtitle, type="text")
    _text(root, "updated", rfc3339(feed.updated))
    _link(root, feed.self_url, rel="self", type="application/atom+xml")
    if feed.alternate_url:
        _link(root, feed.alternate_url, rel="alternate", type="text/html")
    _author(root, feed.author_name)
    for entry in sorted(feed.entries, key=_newest_first):
        _entry(root, entry)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _newest_first(entry: AtomEntry) -> tuple[float, str]:
    return (-(entry.published or entry.updated).timestamp(), entry.id)


def _entry(parent: ET.Element, entry: AtomEntry) -> None:
    node = ET.SubElement(parent, "entry")
    _text(node, "id", entry.id)
    _text(node, "title", entry.title, type="text")
    _text(node, "updated", rfc3339(entry.updated))
    if entry.published:
        _text(node, "published", rfc3339(entry.published))
    _link(node, entry.link, rel="alternate", type="text/html")
    if entry.author_name:
        _author(node, entry.author_name)
    for term in entry.categories:
        ET.SubElement(node, "category", {"term": xml_text(term)})
    if entry.summary:
        _text(node, "summary", entry.summary, type="text")
    if entry.content:
        if entry.content_type == "html":
            _text(node, "content", html_paragraphs(entry.content), type="html")
        else:
            _text(node, "content", entry.content, type="text")


def _text(parent: ET.Element, name: str, text: str, **attributes: str) -> ET.Element:
    node = ET.SubElement(parent, name, attributes)
    node.text = xml_text(text)
    return node


def _link(parent: ET.Element, href: str, *, rel: str, type: str) -> None:
    ET.SubElement(parent, "link", {"rel": rel, "type": type, "href": xml_text(href)})


def _author(parent: ET.Element, name: str) -> None:
    author = ET.SubElement(parent, "author")
    _text(author, "name", name)
