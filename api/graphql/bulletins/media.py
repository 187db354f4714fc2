"""What a file really is, from its first bytes: the client's content type is never trusted."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

from domain.bulletin import MediaType

MAX_VIDEO_BYTES = 512 * 1024 * 1024
"""Videos may be this large; images and documents are held to `settings.max_upload_bytes`."""

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# ISO base media files that are not video (HEIF and AVIF images, audio-only MPEG-4).
_NOT_VIDEO_BRANDS = {
    b"heic",
    b"heix",
    b"hevc",
    b"heim",
    b"heis",
    b"mif1",
    b"msf1",
    b"avif",
    b"avis",
    b"M4A ",
    b"M4B ",
    b"M4P ",
}
# Control characters that never appear in a text file (tab, line feed, form feed, CR do).
_BINARY = set(range(0x00, 0x09)) | {0x0B} | set(range(0x0E, 0x20)) | {0x7F}
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@dataclass(frozen=True, slots=True)
class Sniffed:
    media_type: MediaType
    content_type: str


def sniff(data: bytes, filename: str | None = None) -> Sniffed | None:
    """The type the bytes show, or None for anything we do not accept.

    `data` may be only the start of a large file: every check but DOCX (which needs the zip's
    directory at its end) and plain text (which must decode) works on the first bytes alone.
    """
    if data.startswith(b"\xff\xd8\xff"):
        return Sniffed(MediaType.IMAGE, "image/jpeg")
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed(MediaType.IMAGE, "image/png")
    if data.startswith((b"GIF87a", b"GIF89a")):
        return Sniffed(MediaType.IMAGE, "image/gif")
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return Sniffed(MediaType.IMAGE, "image/webp")
    if len(data) >= 12 and data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in _NOT_VIDEO_BRANDS:
            return None
        return Sniffed(MediaType.VIDEO, "video/quicktime" if brand == b"qt  " else "video/mp4")
    if data.startswith(b"%PDF-"):
        return Sniffed(MediaType.FILE, "application/pdf")
    if data.startswith(_OLE):
        return Sniffed(MediaType.FILE, "application/msword")
    if data.startswith(b"PK\x03\x04"):
        return Sniffed(MediaType.FILE, DOCX) if _is_docx(data) else None
    return _text(data, filename)


def _is_docx(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return any(name.startswith("word/") for name in archive.namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return False


def _text(data: bytes, filename: str | None) -> Sniffed | None:
    body = data.removeprefix(b"\xef\xbb\xbf")
    if not body.strip() or any(byte in _BINARY for byte in body[:65536]):
        return None
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    is_csv = (filename or "").lower().endswith(".csv")
    return Sniffed(MediaType.FILE, "text/csv" if is_csv else "text/plain")
