"""Opening an upload by what it contains (not its name): plain text, gzip or zip, with limits
that stop a zip bomb before it fills memory or disk.

No shared zip-limit helper existed on this branch when it was written (one is being added in
app/ for spreadsheet imports); this one is the exposure domain's own and can move there.

Limits, all checked while streaming (declared sizes in an archive can lie):
- total decompressed bytes (EXPOSURE_MAX_UNPACKED_MB),
- decompressed-to-compressed ratio (EXPOSURE_MAX_RATIO),
- number of members in a zip (EXPOSURE_MAX_MEMBERS); nested archives are refused.
"""

from __future__ import annotations

import gzip
import io
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

ZIP_MAGIC = b"PK\x03\x04"
EMPTY_ZIP = b"PK\x05\x06"
GZIP_MAGIC = b"\x1f\x8b"
SNIFF = 8192


class ArchiveError(ValueError):
    """The upload cannot be read safely (its message is shown to the user)."""


@dataclass(frozen=True)
class Limits:
    max_unpacked: int
    max_ratio: int
    max_members: int


def kind_of(head: bytes) -> str:
    """'zip', 'gzip' or 'text' from the first bytes; binary content is refused."""
    if head.startswith(ZIP_MAGIC) or head.startswith(EMPTY_ZIP):
        return "zip"
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if b"\x00" in head[:SNIFF]:
        raise ArchiveError("binary content: not a text, CSV, zip or gzip file")
    return "text"


class Bounded(io.RawIOBase):
    """Passes bytes through and stops the read once more than `limit` bytes came out."""

    def __init__(self, inner: BinaryIO, limit: int, what: str):
        self._inner = inner
        self._limit = limit
        self._what = what
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        data = self._inner.read(len(buffer))
        self.count += len(data)
        if self.count > self._limit:
            raise ArchiveError(self._what)
        buffer[:len(data)] = data
        return len(data)


def _budget(compressed: int, limits: Limits) -> tuple[int, str]:
    by_ratio = max(compressed, 1) * limits.max_ratio
    if by_ratio < limits.max_unpacked:
        return by_ratio, (f"unpacks to more than {limits.max_ratio} times its compressed size "
                          "(refused as a possible zip bomb)")
    return limits.max_unpacked, f"unpacks to more than {limits.max_unpacked // (1024 * 1024)} MB"


def members(stream: BinaryIO, size: int, limits: Limits) -> Iterator[tuple[str, str, BinaryIO]]:
    """(member name, kind, decompressed stream) for each text member of the upload."""
    head = stream.read(SNIFF)
    stream.seek(0)
    kind = kind_of(head)
    if kind == "text":
        yield "", "text", stream
        return
    budget, why = _budget(size, limits)
    if kind == "gzip":
        inner = io.BufferedReader(Bounded(gzip.GzipFile(fileobj=stream, mode="rb"), budget, why))
        first = inner.peek(SNIFF)[:SNIFF]
        if kind_of(first) != "text":
            raise ArchiveError("a compressed file inside gzip: nested archives are refused")
        yield "", "gzip", inner
        return
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ArchiveError(f"not a readable zip file ({exc})") from None
    infos = [i for i in archive.infolist() if not i.is_dir()]
    if len(infos) > limits.max_members:
        raise ArchiveError(f"the zip holds {len(infos)} files; at most {limits.max_members} are read")
    if sum(i.file_size for i in infos) > budget:
        raise ArchiveError(f"the zip {why}")
    used = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise ArchiveError(f"{info.filename} is encrypted: unpack it and upload the text inside")
        try:
            raw = archive.open(info)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError) as exc:
            raise ArchiveError(f"{info.filename} cannot be read ({exc})") from None
        bounded = Bounded(raw, budget - used, f"the zip {why}")
        inner = io.BufferedReader(bounded)
        try:
            member_kind = kind_of(inner.peek(SNIFF)[:SNIFF])
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise ArchiveError(f"{info.filename} is damaged ({exc})") from None
        if member_kind != "text":
            raise ArchiveError(f"{info.filename} is an archive inside the zip: nested archives are refused")
        yield info.filename, "zip", inner
        used += bounded.count
