"""Uploads: the checks every upload parser runs before it opens a file, and the storage of
uploaded files kept on disk (wireless network media, compliance evidence).

Stored files are typed by their first bytes (`sniff`: the magic number, never the name or
the browser's Content-Type alone; SVG, HTML and other markup a browser could run are not
text), copied in chunks under a size limit (`copy_limited`, which hashes as it goes), and
read back only from inside their folder (`stored_file`). Each domain keeps its own folder,
limits, accepted types, rows and audit.

Zip-based formats (.xlsx, .docx, .zip) are checked from the archive's central directory
before any member is inflated: at most MAX_MEMBERS entries, at most MAX_UNCOMPRESSED bytes
in total and a compression ratio of at most MAX_RATIO. Python's zipfile never inflates a
member beyond the size the directory declares (it stops there and the CRC check fails),
so the declared sizes are a real bound on what a parser reading through zipfile gets.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

MAX_MEMBERS = 10_000
MAX_UNCOMPRESSED = 100 * 1024 * 1024
MAX_RATIO = 100  # spreadsheets compress 5-20x; a zip bomb 1,000x and more


class UploadRefused(ValueError):
    """The upload is refused before parsing; the message says why, for the user."""


class NotAnArchive(UploadRefused):
    """The upload is not a readable zip archive at all."""


class TooLarge(UploadRefused):
    """The upload went past its size limit (the partial file is already removed)."""

    def __init__(self, limit: int):
        super().__init__(f"The file is larger than {limit // (1024 * 1024)} MB.")
        self.limit = limit


def check_zip(data: bytes | BinaryIO, *, max_uncompressed: int = MAX_UNCOMPRESSED, max_ratio: int = MAX_RATIO,
              max_members: int = MAX_MEMBERS) -> None:
    """Raise UploadRefused when `data` is not a zip archive, or would inflate too far."""
    stream = io.BytesIO(data) if isinstance(data, bytes | bytearray) else data
    try:
        with zipfile.ZipFile(stream) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise NotAnArchive(str(exc)) from None
    finally:
        if not isinstance(data, bytes | bytearray):
            data.seek(0)
    if len(members) > max_members:
        raise UploadRefused(f"The file holds more than {max_members:,} parts.")
    total = sum(m.file_size for m in members)
    if total > max_uncompressed:
        raise UploadRefused(f"The file would unpack to more than {max_uncompressed // (1024 * 1024)} MB.")
    packed = sum(m.compress_size for m in members)
    if total > 1024 * 1024 and total > max_ratio * max(packed, 1):
        raise UploadRefused(f"The file is compressed more than {max_ratio} times: refused as a possible zip bomb.")


# Stored files ------------------------------------------------------------------------------

CHUNK = 1024 * 1024
HEAD_BYTES = 4096


@dataclass
class Stored:
    """A file copied to disk: where, how large, its SHA-256 and its first bytes (for `sniff`)."""

    path: Path
    size: int
    sha256: str
    head: bytes


def copy_limited(stream: IO[bytes], dest: Path, limit: int, head_bytes: int = HEAD_BYTES) -> Stored:
    """Copy `stream` to `dest` in chunks, hashing it; TooLarge (and no file) past `limit` bytes."""
    digest = hashlib.sha256()
    size = 0
    head = b""
    with dest.open("wb") as out:
        while chunk := stream.read(CHUNK):
            size += len(chunk)
            if size > limit:
                out.close()
                dest.unlink(missing_ok=True)
                raise TooLarge(limit)
            if len(head) < head_bytes:
                head += chunk[:head_bytes - len(head)]
            digest.update(chunk)
            out.write(chunk)
    return Stored(dest, size, digest.hexdigest(), head)


def stored_file(root: Path, relative: str | None) -> Path | None:
    """The stored file at `relative` under `root`, refusing any path that would leave it."""
    if not relative:
        return None
    root = root.resolve()
    path = (root / relative).resolve()
    if root not in path.parents or not path.is_file():
        return None
    return path


def sniff(head: bytes) -> str | None:
    """The MIME type the first bytes prove, or None (unknown, or text that is not clean UTF-8)."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"fLaC"):
        return "audio/flac"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"M4A ", b"M4B "):
            return "audio/mp4"
        return "video/quicktime" if brand == b"qt  " else "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm" if b"webm" in head[:64] else "video/x-matroska"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if b"\x00" not in head:
        try:
            text = head.decode("utf-8")
        except UnicodeDecodeError:
            # A multi-byte character cut by the sample's end is still text.
            try:
                text = head[:-3].decode("utf-8")
            except UnicodeDecodeError:
                return None
        lowered = text.lstrip().lower()
        if lowered.startswith(("<!doctype", "<html", "<svg", "<?xml", "<script")):
            return None  # markup a browser could run
        return "text/plain"
    return None
