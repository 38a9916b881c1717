"""Importers: one streaming reader per format, all yielding `Sighting` or `Reject`, and one
writer (`writer.py`) that stores them. `detect(path)` names a file's format from its content
and refuses a file that is no importable format with a clear message (`FormatError`).

| format          | reader                         | source_pk            | incremental        |
|-----------------|--------------------------------|----------------------|--------------------|
| wigle_csv       | wigle_csv.read                 | "" (no row id)       | no (dedupe)        |
| wigle_sqlite    | sqlite_files.read_wigle        | location._id         | location._id mark  |
| kismet_sqlite   | sqlite_files.read_kismet       | ""                   | no (dedupe)        |
| kismet_netxml   | netxml.read                    | ""                   | no (dedupe)        |

Bluetooth manufacturer ids (`Sighting.mfgrid`): WiGLE's MfgrId column, or, in a Kismet log,
the company id read from its advertisements (ble_adv.py). netxml has none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from app.wireless.importers import netxml, sqlite_files, wigle_csv
from app.wireless.importers.records import FormatError, Reject, Sighting, checked

__all__ = ["FormatError", "Reject", "Sighting", "detect", "open_records", "DEVICE_TYPES", "FORMAT_LABELS"]

SQLITE_MAGIC = b"SQLite format 3\x00"
FORMAT_LABELS = {"wigle_csv": "WiGLE CSV", "wigle_sqlite": "WiGLE Android backup (SQLite)",
                 "kismet_sqlite": "Kismet log (.kismet)", "kismet_netxml": "Kismet netxml"}
DEVICE_TYPES = {"wigle_csv": "wigle", "wigle_sqlite": "wigle", "kismet_sqlite": "kismet",
                "kismet_netxml": "kismet"}
NOT_A_FORMAT = ("is not a WiGLE CSV, WiGLE Android backup, Kismet .kismet log or Kismet netxml file")


def detect(path: str | Path) -> str:
    """The format of the file at path, judged by its content (never by its name)."""
    path = Path(path)
    with open(path, "rb") as fh:
        head = fh.read(8192)
    if not head.strip():
        raise FormatError("the file is empty")
    if head.startswith(SQLITE_MAGIC):
        names = sqlite_files.tables(path)
        if {"KISMET", "devices", "packets"} <= names:
            return "kismet_sqlite"
        if {"network", "location"} <= names:
            return "wigle_sqlite"
        raise FormatError("an SQLite database, but neither a WiGLE backup (network and location tables) "
                          "nor a Kismet log (KISMET, devices and packets tables)")
    if head[:2] == b"\x1f\x8b" or head[:4] == b"PK\x03\x04":
        raise FormatError("a compressed file (gzip or zip): unpack it and import the file inside")
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if text.startswith("<"):
        if "<detection-run" in text:
            return "kismet_netxml"
        raise FormatError("an XML file, but not a Kismet netxml log (no <detection-run>)")
    # A stray NUL byte does not make a text file binary (the reader drops NULs); many do.
    if head.count(b"\x00") > len(head) // 100:
        raise FormatError(f"a binary file that {NOT_A_FORMAT}")
    if wigle_csv.sniff(text):
        return "wigle_csv"
    raise FormatError(f"this file {NOT_A_FORMAT} (no WiGLE column header such as "
                      "MAC,SSID,AuthMode,FirstSeen,... in its first lines)")


def _share(fh, size: int) -> float:
    try:
        return min(1.0, fh.tell() / size)
    except ValueError:  # closed: all read
        return 1.0


@contextmanager
def open_records(path: str | Path, fmt: str, after_id: int = 0
                 ) -> Iterator[tuple[Iterator[Sighting | Reject], Callable[[int], float]]]:
    """The reader of `fmt` over the file, as a generator, and a function giving the share of
    the file read so far (from the byte offset, or a row id against the largest row id).
    Every sighting is checked against its columns on the way (records.checked)."""
    if fmt in ("wigle_sqlite", "kismet_sqlite"):
        top = max(sqlite_files.max_rowid(path, "location" if fmt == "wigle_sqlite" else "packets"), 1)
        reader = (sqlite_files.read_wigle(path, after_id=after_id) if fmt == "wigle_sqlite"
                  else sqlite_files.read_kismet(path))
        yield checked(reader), lambda line: min(1.0, line / top)
    elif fmt in ("wigle_csv", "kismet_netxml"):
        size = max(Path(path).stat().st_size, 1)
        with open(path, "rb") as fh:
            reader = (wigle_csv.read if fmt == "wigle_csv" else netxml.read)(fh)
            try:
                yield checked(reader), lambda _line: _share(fh, size)
            finally:
                reader.close()  # before its file closes (an import that stopped early)
    else:
        raise FormatError(f"unknown import format {fmt!r}")
