"""WiGLE CSV 1.4 / 1.6 (the WiGLE Android app's export, also written by Kismet's
kismetdb_to_wiglecsv, Bruce and other ESP32 loggers), every radio type.

Quirks handled: a UTF-8 BOM, CRLF endings, blank lines, a missing final newline, a missing or
non-standard pre-header line ("WigleWifi-1.6,appRelease=..." is optional: the column header is
found by its names), quoted SSIDs with commas, and unquoted SSIDs with commas (a row with too
many fields whose extra fields fit into the SSID column is rejoined). Columns are read by name,
so 1.4 (no Frequency, RCOIs, MfgrId) and 1.6 share one reader. Cell rows carry the tower id
(MCCMNC_LAC_CID, SID_NID_BSID, ...) in the MAC column and the (E/U)ARFCN in Channel, which
is stored as the frequency as WiGLE's own database does.
"""

from __future__ import annotations

import csv
import io
from collections import deque
from collections.abc import Iterator
from typing import IO

from app.models.wireless import CELLULAR_TYPES
from app.wireless.importers.records import (
    FormatError,
    Reject,
    RowError,
    Sighting,
    channel_frequency,
    check_position,
    norm_bssid,
    norm_type,
    parse_float,
    parse_int,
    parse_mfgrid,
    parse_time_ms,
)

HEADER_SCAN_LINES = 5  # the column header must be within the first lines
MAX_RECORD_LINES = 4  # an SSID is 32 bytes: a record spanning more lines is a broken quote
MAX_LINE_CHARS = 64 * 1024  # a sighting is a few hundred characters
REQUIRED = ("MAC", "FIRSTSEEN", "RSSI", "CURRENTLATITUDE", "CURRENTLONGITUDE")
# Some loggers name the columns differently; these are read as the WiGLE names.
ALIASES = {"BSSID": "MAC", "LATITUDE": "CURRENTLATITUDE", "LONGITUDE": "CURRENTLONGITUDE",
           "LEVEL": "RSSI", "TIME": "FIRSTSEEN", "ALTITUDE": "ALTITUDEMETERS",
           "ACCURACY": "ACCURACYMETERS"}


def _header_index(row: list[str]) -> dict[str, int] | None:
    names = [ALIASES.get(c.strip().upper(), c.strip().upper()) for c in row]
    index = {name: i for i, name in enumerate(names) if name}
    return index if all(r in index for r in REQUIRED) else None


def sniff(text: str) -> bool:
    """Whether the start of a text file looks like a WiGLE CSV (the header is within reach)."""
    lines = text.lstrip("\ufeff").replace("\x00", "").splitlines()[:HEADER_SCAN_LINES]
    for line in lines:
        if not line.strip():
            continue
        try:
            if _header_index(next(csv.reader([line]), [])):
                return True
        except csv.Error:
            continue
    return False


class BadRecord(Exception):
    """A record the csv module cannot finish within a few lines (an unterminated quote) or a
    line too long to be a sighting."""


class LineFeed:
    """The physical lines the csv reader pulls, with their numbers and without NUL bytes.

    A record may span at most MAX_RECORD_LINES lines (an SSID with a line break) and a line at
    most MAX_LINE_CHARS characters. A record that breaks a limit or that the csv module
    refuses is dropped by `resync()`: its first line is rejected and reading resumes at its
    second line, so one malformed line never swallows the rest of the file."""

    def __init__(self, text: IO[str]):
        self.text = text
        self.number = 0
        self.replay: deque[tuple[int, str | None]] = deque()
        self.record: list[tuple[int, str | None]] = []  # None: a line over MAX_LINE_CHARS

    def __iter__(self):
        return self

    def __next__(self) -> str:
        if len(self.record) >= MAX_RECORD_LINES:
            raise BadRecord(f"a quoted field is not closed within {MAX_RECORD_LINES} lines")
        if self.replay:
            number, line = self.replay.popleft()
        else:
            line = self.text.readline(MAX_LINE_CHARS)
            if not line:
                raise StopIteration
            self.number += 1
            number = self.number
            if len(line) >= MAX_LINE_CHARS and not line.endswith(("\n", "\r")):
                while (rest := self.text.readline(MAX_LINE_CHARS)) and not rest.endswith(("\n", "\r")):
                    pass  # skip the rest of the overlong line
                line = None
        self.record.append((number, line))
        if line is None:
            raise BadRecord(f"the line is longer than {MAX_LINE_CHARS} characters")
        return line.replace("\x00", "") if "\x00" in line else line

    def start(self) -> None:
        self.record = []

    @property
    def line(self) -> int:
        """The number of the current record's first line."""
        return self.record[0][0] if self.record else self.number

    def resync(self) -> int:
        """Drop the current record; its later lines are read again. Returns its first line."""
        first = self.line
        self.replay.extendleft(reversed(self.record[1:]))
        self.record = []
        return first


def read(stream: IO[bytes]) -> Iterator[Sighting | Reject]:
    """Yield each row as a Sighting or a Reject, reading the binary stream line by line."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
    try:
        yield from _rows(LineFeed(text))
    finally:
        text.detach()  # the caller owns the binary stream: do not close it with the wrapper


def _records(feed: LineFeed) -> Iterator[tuple[int, list[str] | None, str]]:
    """(first line, fields, "") per record, or (first line, None, reason) for a malformed one."""
    reader = csv.reader(feed)
    while True:
        feed.start()
        try:
            row = next(reader)
        except StopIteration:
            return
        except (csv.Error, BadRecord) as exc:
            # Over several lines the fault is the first line's quote; its later lines are read again.
            reason = _reason(exc) if len(feed.record) <= 1 else "an opening quote is not closed on its line"
            yield feed.resync(), None, reason
            continue
        yield feed.line, row, ""


def _reason(exc: Exception) -> str:
    if isinstance(exc, BadRecord):
        return str(exc)
    if "field larger than field limit" in str(exc):
        return f"a field is longer than {csv.field_size_limit()} characters"
    return "the line is not valid CSV"


def _rows(feed: LineFeed) -> Iterator[Sighting | Reject]:
    records = _records(feed)
    index = None
    for line, row, _reason_text in records:
        if row is None or not any(cell.strip() for cell in row):
            if line >= HEADER_SCAN_LINES:
                break
            continue
        index = _header_index(row)
        if index is not None or line >= HEADER_SCAN_LINES:
            break
    if index is None:
        raise FormatError("not a WiGLE CSV: no column header with MAC, FirstSeen, RSSI, "
                          "CurrentLatitude and CurrentLongitude in the first lines")
    width = max(index.values()) + 1
    ssid_at = index.get("SSID")
    at = _positions(index)
    times: dict[str, int] = {}
    types: dict[str, str] = {}
    for line, row, reason in records:
        if row is None:
            yield Reject(line, reason)
            continue
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # a blank line
        if len(row) > width and ssid_at is not None:
            # An unquoted SSID with commas: fold the surplus fields back into the SSID.
            extra = len(row) - width
            row = row[:ssid_at] + [",".join(row[ssid_at:ssid_at + extra + 1])] + row[ssid_at + extra + 1:]
        problem = (f"expected {width} fields, found {len(row)}" if len(row) < width
                   else _merged_lines(row, ssid_at) if len(feed.record) > 1 else None)
        if problem:
            yield Reject(line, problem)
            if len(feed.record) > 1:
                feed.resync()  # a quote that merged lines: read its later lines on their own
            continue
        row.append("")
        try:
            yield _sighting(row, at, line, times, types)
        except (RowError, ValueError, OverflowError) as exc:
            yield Reject(line, str(exc) if isinstance(exc, RowError) else f"unreadable value: {exc}")


def _merged_lines(row: list[str], ssid_at: int | None) -> str | None:
    """Why a record spanning several lines is not one sighting, or None: only an SSID (at most
    32 bytes) may hold a line break."""
    ssid = row[ssid_at] if ssid_at is not None else ""
    others = (cell for i, cell in enumerate(row) if i != ssid_at)
    if len(ssid.encode("utf-8")) > 32 or any("\n" in cell or "\r" in cell for cell in others):
        return "an opening quote is not closed on its line"
    return None


FIELDS = ("TYPE", "MAC", "CURRENTLATITUDE", "CURRENTLONGITUDE", "CHANNEL", "FREQUENCY", "SSID", "AUTHMODE",
          "RSSI", "ALTITUDEMETERS", "ACCURACYMETERS", "FIRSTSEEN", "MFGRID", "RCOIS")


def _positions(index: dict[str, int]) -> tuple[int, ...]:
    # A column the file lacks reads the "" that _rows appends to every row (index -1).
    return tuple(index.get(name, -1) for name in FIELDS)


def _sighting(row: list[str], at: tuple[int, ...], line: int, times: dict[str, int],
              types: dict[str, str]) -> Sighting:
    """One row as a Sighting (RowError or ValueError for a value that is not usable).

    Every row of a file comes through here, so the common cases skip the shared parsers: a
    number is read with float()/int() directly (the parsers only for what that refuses, for
    their messages and defaults), and a Type column's few spellings are read once each. The results are
    the parsers' own."""
    (i_type, i_mac, i_lat, i_lon, i_channel, i_freq, i_ssid, i_auth, i_rssi, i_alt, i_acc, i_time, i_mfgr,
     i_rcois) = at
    raw_type = row[i_type]
    rtype = types.get(raw_type) or norm_type(raw_type)
    if len(types) < 64:
        types[raw_type] = rtype
    bssid = norm_bssid(row[i_mac], rtype)
    try:
        lat, lon = float(row[i_lat]), float(row[i_lon])
        if lat - lat or lon - lon:  # inf or nan: parse_float names which
            raise ValueError
    except ValueError:
        lat = parse_float(row[i_lat], "latitude")
        lon = parse_float(row[i_lon], "longitude")
    check_position(lat, lon)
    channel = _int(row[i_channel], "channel", 0)
    if rtype in CELLULAR_TYPES:
        frequency = channel
    else:
        frequency = _int(row[i_freq], "frequency", 0)
        if not frequency and rtype == "W":
            frequency = channel_frequency(channel)
    stamp = row[i_time]
    ms = times.get(stamp)
    if ms is None:  # a scan's rows share one time: parse it once
        if len(times) > 4096:
            times.clear()
        ms = times[stamp] = parse_time_ms(stamp)
    try:
        altitude, accuracy = float(row[i_alt]), float(row[i_acc])
        if altitude - altitude or accuracy - accuracy:
            raise ValueError
    except ValueError:
        altitude = parse_float(row[i_alt], "altitude", 0.0)
        accuracy = parse_float(row[i_acc], "accuracy", 0.0)
    mfgr = row[i_mfgr]
    return Sighting(bssid, row[i_ssid][:255], rtype, frequency, row[i_auth][:255], _int(row[i_rssi], "RSSI"),
                    lat, lon, altitude, accuracy, ms, line, False, parse_mfgrid(mfgr) if mfgr else 0,
                    row[i_rcois][:255])


def _int(text: str, what: str, default: int | None = None) -> int:
    """parse_int's value: int() for a plain whole number, parse_int for anything else."""
    try:
        value = int(text)
    except ValueError:
        return parse_int(text, what, default)
    # Beyond 2**53 parse_int goes through a float for a signed number; keep its value there.
    return value if -(1 << 53) < value < (1 << 53) else parse_int(text, what, default)
