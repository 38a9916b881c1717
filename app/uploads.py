"""Checks every upload parser runs before it opens a file.

Zip-based formats (.xlsx, .docx, .zip) are checked from the archive's central directory
before any member is inflated: at most MAX_MEMBERS entries, at most MAX_UNCOMPRESSED bytes
in total and a compression ratio of at most MAX_RATIO. Python's zipfile never inflates a
member beyond the size the directory declares (it stops there and the CRC check fails),
so the declared sizes are a real bound on what a parser reading through zipfile gets.
"""

from __future__ import annotations

import io
import zipfile
from typing import BinaryIO

MAX_MEMBERS = 10_000
MAX_UNCOMPRESSED = 100 * 1024 * 1024
MAX_RATIO = 100  # spreadsheets compress 5-20x; a zip bomb 1,000x and more


class UploadRefused(ValueError):
    """The upload is refused before parsing; the message says why, for the user."""


class NotAnArchive(UploadRefused):
    """The upload is not a readable zip archive at all."""


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
