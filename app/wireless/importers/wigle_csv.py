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
    lines = text.lstrip("\ufeff").splitlines()[:HEADER_SCAN_LINES]
    return any(_header_index(next(csv.reader([line]), [])) for line in lines if line.strip())


def read(stream: IO[bytes]) -> Iterator[Sighting | Reject]:
    """Yield each row as a Sighting or a Reject, reading the binary stream line by line."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
    try:
        yield from _rows(csv.reader(text))
    finally:
        text.detach()  # the caller owns the binary stream: do not close it with the wrapper


def _rows(reader) -> Iterator[Sighting | Reject]:
    index = None
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        index = _header_index(row)
        if index is not None:
            break
        if reader.line_num >= HEADER_SCAN_LINES:
            break
    if index is None:
        raise FormatError("not a WiGLE CSV: no column header with MAC, FirstSeen, RSSI, "
                          "CurrentLatitude and CurrentLongitude in the first lines")
    width = max(index.values()) + 1
    ssid_at = index.get("SSID")
    at = _positions(index)
    times: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # a blank line
        if len(row) > width and ssid_at is not None:
            # An unquoted SSID with commas: fold the surplus fields back into the SSID.
            extra = len(row) - width
            row = row[:ssid_at] + [",".join(row[ssid_at:ssid_at + extra + 1])] + row[ssid_at + extra + 1:]
        if len(row) < width:
            yield Reject(line, f"expected {width} fields, found {len(row)}")
            continue
        row.append("")
        try:
            yield _sighting(row, at, line, times)
        except RowError as exc:
            yield Reject(line, str(exc))


FIELDS = ("TYPE", "MAC", "CURRENTLATITUDE", "CURRENTLONGITUDE", "CHANNEL", "FREQUENCY", "SSID", "AUTHMODE",
          "RSSI", "ALTITUDEMETERS", "ACCURACYMETERS", "FIRSTSEEN", "MFGRID", "RCOIS")


def _positions(index: dict[str, int]) -> tuple[int, ...]:
    # A column the file lacks reads the "" that _rows appends to every row (index -1).
    return tuple(index.get(name, -1) for name in FIELDS)


def _sighting(row: list[str], at: tuple[int, ...], line: int, times: dict[str, int]) -> Sighting:
    (i_type, i_mac, i_lat, i_lon, i_channel, i_freq, i_ssid, i_auth, i_rssi, i_alt, i_acc, i_time, i_mfgr,
     i_rcois) = at
    rtype = norm_type(row[i_type])
    bssid = norm_bssid(row[i_mac], rtype)
    lat = parse_float(row[i_lat], "latitude")
    lon = parse_float(row[i_lon], "longitude")
    check_position(lat, lon)
    channel = parse_int(row[i_channel], "channel", 0)
    if rtype in CELLULAR_TYPES:
        frequency = channel
    else:
        frequency = parse_int(row[i_freq], "frequency", 0)
        if not frequency and rtype == "W":
            frequency = channel_frequency(channel)
    stamp = row[i_time]
    ms = times.get(stamp)
    if ms is None:  # a scan's rows share one time: parse it once
        if len(times) > 4096:
            times.clear()
        ms = times[stamp] = parse_time_ms(stamp)
    return Sighting(
        bssid=bssid, ssid=row[i_ssid][:255], radio_type=rtype, frequency=frequency,
        capabilities=row[i_auth][:255], level=parse_int(row[i_rssi], "RSSI"), lat=lat, lon=lon,
        altitude=parse_float(row[i_alt], "altitude", 0.0), accuracy=parse_float(row[i_acc], "accuracy", 0.0),
        time_ms=ms, line=line, mfgrid=parse_mfgrid(row[i_mfgr]), rcois=row[i_rcois][:255],
    )
