"""The normalised sighting every reader yields, the rejection it yields instead, and the small
value parsers the readers share (MACs, times, radio types, encryption)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from functools import cache
from typing import NamedTuple

import sqlalchemy as sa

from app.models.wireless import CELLULAR_TYPES, RADIO_TYPES, Observation
from app.wireless.scoring import RADIO_ALIASES, radio_code

MAC_RE = re.compile(r"^[0-9A-F]{12}$")
COLON_MAC_RE = re.compile(r"[0-9A-F]{2}(?::[0-9A-F]{2}){5}\Z")
CELL_ID_RE = re.compile(r"^[0-9A-Za-z_:.\-]{1,64}$")
# 00:00:00:00:00:00 is no radio's address: Kismet writes it for ad-hoc and unknown-BSSID
# networks, WiGLE for broken scans. Storing it would merge all such networks into one.
NULL_MAC = "00:00:00:00:00:00"
# 2000-01-01: an older time is a phone without a clock fix. Such a sighting is kept with its
# time unknown (Sighting.time_unknown): its place counts, its time does not.
EARLIEST_MS = 946_684_800_000
LATEST_MS = 4_102_444_800_000  # 2100-01-01


class FormatError(ValueError):
    """The file is not of any importable format (or not of the one asked for)."""


class Sighting(NamedTuple):
    """One sighting of one radio, as every reader hands it to the writer."""

    bssid: str
    ssid: str
    radio_type: str
    frequency: int
    capabilities: str
    level: int
    lat: float
    lon: float
    altitude: float
    accuracy: float
    time_ms: int
    line: int
    external: bool = False
    mfgrid: int = 0
    rcois: str = ""
    service: str = ""
    source_pk: str = ""

    @property
    def time_unknown(self) -> bool:
        """Stamped before 2000: the collector had no clock fix, so the time means nothing."""
        return self.time_ms < EARLIEST_MS


class Reject(NamedTuple):
    """A row that cannot be used: where it was (line, or row id in SQLite files) and why."""

    line: int
    reason: str


class RowError(ValueError):
    """Raised by the parsers below; the reader turns it into a Reject with its line."""


def norm_mac(value: str) -> str:
    """AA:BB:CC:DD:EE:FF from any common spelling, or RowError."""
    raw = (value or "").strip().upper()
    if COLON_MAC_RE.match(raw):  # the common spelling, already in shape: one regex, no rebuild
        if raw == NULL_MAC:
            raise RowError("MAC 00:00:00:00:00:00 is a placeholder, not a radio address")
        return raw
    digits = re.sub(r"[:\-.]", "", raw)
    if not MAC_RE.match(digits):
        raise RowError(f"MAC {value!r} is not a 12-hex-digit address")
    mac = ":".join(digits[i:i + 2] for i in range(0, 12, 2))
    if mac == NULL_MAC:
        raise RowError("MAC 00:00:00:00:00:00 is a placeholder, not a radio address")
    return mac


def norm_bssid(value: str, rtype: str) -> str:
    """A radio's key: a MAC for Wi-Fi/Bluetooth, the tower id (MCCMNC_LAC_CID...) for cells."""
    if rtype in CELLULAR_TYPES:
        raw = (value or "").strip().upper()
        if not CELL_ID_RE.match(raw):
            raise RowError(f"cell id {value!r} is empty or has characters a tower id never has")
        return raw
    return norm_mac(value)


def norm_type(value: str | None, default: str = "W") -> str:
    """One-letter radio type (scoring's radio_code), or RowError for an unknown type."""
    if not (value or "").strip():
        return default
    raw = value.strip().upper()
    if raw not in RADIO_ALIASES and raw not in RADIO_TYPES:
        raise RowError(f"unknown radio type {value!r}")
    return radio_code(raw)


def text_of(value: object, limit: int = 255) -> str:
    """A text cell of a SQLite file as stored text: bytes decoded, NUL bytes dropped (a hidden
    network's SSID is often NULs), cut to the column's length."""
    if value is None:
        return ""
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return text.replace("\x00", "")[:limit]


def parse_float(value: str | None, what: str, default: float | None = None) -> float:
    """A finite number, `default` when empty (RowError when empty without a default)."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        if not (value or "").strip():
            if default is None:
                raise RowError(f"{what} is empty") from None
            return default
        raise RowError(f"{what} {value!r} is not a number") from None
    if not math.isfinite(out):
        raise RowError(f"{what} {value!r} is not a finite number")
    return out


def parse_int(value: str | None, what: str, default: int | None = None) -> int:
    """A whole number (a decimal one is rounded), `default` when empty."""
    # The common case, without the float round trip (an odd digit once stopped a whole import).
    if value and is_digits(value):
        return int(value)
    return round(parse_float(value, what, None if default is None else float(default)))


def check_position(lat: float, lon: float) -> None:
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise RowError(f"position {lat}, {lon} is outside the globe")
    if lat == 0 and lon == 0:
        raise RowError("no GPS fix (position 0, 0)")


def check_time(ms: int) -> int:
    """The time as stored; before 2000 it is kept and flagged time-unknown (see EARLIEST_MS)."""
    if ms < 0:
        raise RowError("time is before 1970 (not a time any collector writes)")
    if ms >= LATEST_MS:
        # Past this no datetime can hold it, and it is a broken clock anyway.
        raise RowError("time is after 2100 (the collector's clock is wrong)")
    return ms


def is_digits(text: str) -> bool:
    """ASCII digits only: "²".isdigit() is true and int() refuses it."""
    return text.isascii() and text.isdigit()


def parse_time_ms(value: str | None) -> int:
    """Milliseconds since the epoch of a WiGLE time ("2017-10-27 16:32:24", UTC) or epoch ms."""
    raw = (value or "").strip()
    if not raw:
        raise RowError("time is empty")
    if is_digits(raw):
        n = int(raw)
        return check_time(n if n > 10**11 else n * 1000)
    try:
        when = datetime.fromisoformat(raw.replace("/", "-"))
    except ValueError:
        raise RowError(f"time {value!r} is not YYYY-MM-DD HH:MM:SS") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # WiGLE and Kismet write UTC
    return check_time(int(when.timestamp() * 1000))


def parse_mfgrid(value: str | None) -> int:
    """Bluetooth company id. WiGLE Android writes it in decimal ("76"); other loggers (Bruce,
    ESP32 tools) write 4 hex digits ("004C"). Four characters with a leading zero, or any
    hex letter, is read as hex."""
    raw = (value or "").strip()
    if not raw:
        return 0
    try:
        if raw.lower().startswith("0x"):
            return int(raw, 16)
        if (len(raw) == 4 and raw.startswith("0")) or not is_digits(raw):
            return int(raw, 16)
        return int(raw)
    except ValueError:
        raise RowError(f"MfgrId {value!r} is not a number") from None


def channel_frequency(channel: int) -> int:
    """MHz of a Wi-Fi channel number (WiGLE CSV 1.4 has no Frequency column)."""
    if channel == 14:
        return 2484
    if 1 <= channel <= 13:
        return 2407 + 5 * channel
    if 32 <= channel <= 177:
        return 5000 + 5 * channel
    return 0


def encryption_of(capabilities: str, rtype: str) -> str:
    """networks.encryption from a capabilities string ("[WPA2-PSK-CCMP][ESS]", "[WPA2_WPA3_PSK]")."""
    if rtype != "W":
        return "unknown"
    caps = (capabilities or "").upper()
    if "WPA3" in caps or "SAE" in caps or "OWE" in caps:
        return "wpa3"
    if "WPA2" in caps or "RSN" in caps:
        return "wpa2"
    if "WPA" in caps:
        return "wpa"
    if "WEP" in caps:
        return "wep"
    return "open"


def is_randomized(bssid: str, rtype: str) -> bool:
    """A locally administered MAC (second hex digit 2, 6, A or E): randomised or assigned in
    software, as phones and trackers do; never for cells."""
    return rtype not in CELLULAR_TYPES and len(bssid) >= 2 and bssid[1] in "26AE"


# ---------------------------------------------------------------- column ranges

# Sighting field -> the observations column it is stored in (networks' columns have the same
# types). Every value is checked against its column before it reaches the database, so one
# out-of-range value is one rejected row, never a failed batch.
STORED_AS = {"bssid": "bssid", "ssid": "ssid", "radio_type": "radio_type", "frequency": "radio_frequency",
             "capabilities": "radio_capabilities", "level": "level", "lat": "lat", "lon": "lon",
             "altitude": "altitude", "accuracy": "accuracy", "time_ms": "time_ms", "mfgrid": "mfgrid",
             "rcois": "radio_rcois", "service": "radio_service", "source_pk": "source_pk"}
INT_BITS = {sa.SmallInteger: 16, sa.BigInteger: 64, sa.Integer: 32}


@cache
def _column_rules() -> tuple[tuple[int, str, str, object], ...]:
    """(field position, field name, kind, bound) from the observations table's column types."""
    table = Observation.__table__
    rules = []
    for name, column in STORED_AS.items():
        ctype = table.c[column].type
        at = Sighting._fields.index(name)
        if isinstance(ctype, sa.String):
            rules.append((at, name, "text", ctype.length))
        elif isinstance(ctype, sa.Float):  # Double is a Float
            rules.append((at, name, "real", None))
        elif isinstance(ctype, sa.Integer):
            bits = next(b for t, b in INT_BITS.items() if isinstance(ctype, t))
            rules.append((at, name, "int", 2 ** (bits - 1)))
    return tuple(rules)


def column_problem(s: Sighting) -> str | None:
    """Why this sighting cannot be stored as it is (a value outside its column), or None."""
    for at, name, kind, bound in _column_rules():
        value = s[at]
        if kind == "int":
            if not isinstance(value, int):
                return f"{name} {value!r} is not a whole number"
            if not -bound <= value < bound:
                return f"{name} {value} is out of range (a {bound.bit_length()}-bit whole number)"
        elif kind == "real":
            if not isinstance(value, int | float) or not math.isfinite(value):
                return f"{name} {value!r} is not a finite number"
        elif not isinstance(value, str):
            return f"{name} is not text"
        elif value:
            if bound is not None and len(value) > bound:
                return f"{name} is {len(value)} characters long (at most {bound})"
            if "\x00" in value:
                return f"{name} contains a NUL character"
            if not value.isascii():
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    return f"{name} is not valid text (a lone surrogate)"
    return None


def checked(items: Iterable[Sighting | Reject]) -> Iterator[Sighting | Reject]:
    """The items, with every sighting that does not fit its columns turned into a Reject."""
    for item in items:
        if isinstance(item, Sighting) and (problem := column_problem(item)):
            yield Reject(item.line, problem)
        else:
            yield item
