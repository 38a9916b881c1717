"""Kismet netxml (the legacy Kismet summary log): one sighting per <wireless-network>.

netxml keeps no per-packet positions (those were in the separate gpsxml log), so each
network gives one sighting: where its signal peaked (gps-info peak-lat/lon/alt), at that
strongest level (snr-info max_signal_dbm), timed at the network's last-time. Times carry no
zone and are read as UTC. Networks with BSSID 00:00:00:00:00:00 (Kismet's ad-hoc/unknown
BSSID placeholder) are rejected: that is no radio's address, and keeping it would merge every
such network of every file into one "network". The file is parsed incrementally and each
network element is freed once read.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO

from app.wireless.importers.records import (
    FormatError,
    Reject,
    RowError,
    Sighting,
    channel_frequency,
    check_position,
    check_time,
    is_digits,
    norm_mac,
    parse_float,
    parse_int,
)

TIME_FORMAT = "%a %b %d %H:%M:%S %Y"  # "Mon Dec 12 13:17:58 2016"


def _text(el: ET.Element, path: str) -> str:
    found = el.find(path)
    return (found.text or "").strip() if found is not None and found.text else ""


def _time_ms(value: str) -> int:
    try:
        when = datetime.strptime(value.strip(), TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise RowError(f"time {value!r} is not like 'Mon Dec 12 13:17:58 2016'") from None
    return check_time(int(when.timestamp() * 1000))


def read(stream: IO[bytes]) -> Iterator[Sighting | Reject]:
    """Yield one Sighting (or Reject) per wireless-network element."""
    depth = 0
    seen_root = False
    try:
        for event, el in ET.iterparse(stream, events=("start", "end")):
            if event == "start":
                if not seen_root:
                    if el.tag != "detection-run":
                        raise FormatError(f"XML whose root is <{el.tag}>, not Kismet's <detection-run>")
                    seen_root = True
                depth += 1
                continue
            depth -= 1
            if el.tag == "wireless-network" and depth == 1:
                yield _network(el)
                el.clear()
    except ET.ParseError as exc:
        raise FormatError(f"the netxml file is not well-formed XML: {exc}") from None


def _busiest_frequency(el: ET.Element) -> int:
    """The <freqmhz>MHz packets</freqmhz> entry with the most packets (Kismet lists several)."""
    best, most = 0, -1
    for f in el.findall("freqmhz"):
        parts = (f.text or "").split()
        if len(parts) == 2 and is_digits(parts[0]) and is_digits(parts[1]) and int(parts[1]) > most:
            best, most = int(parts[0]), int(parts[1])
    return best


def _network(el: ET.Element) -> Sighting | Reject:
    raw_number = (el.get("number") or "").strip()
    number = int(raw_number) if is_digits(raw_number) and len(raw_number) < 10 else 0
    try:
        bssid = norm_mac(_text(el, "BSSID"))
        if _text(el, "gps-info/peak-lat") == "":
            raise RowError("no GPS position (no gps-info)")
        lat = parse_float(_text(el, "gps-info/peak-lat"), "peak-lat")
        lon = parse_float(_text(el, "gps-info/peak-lon"), "peak-lon")
        check_position(lat, lon)
        ms = _time_ms(el.get("last-time") or el.get("first-time") or "")
        level = parse_int(_text(el, "snr-info/max_signal_dbm") or _text(el, "snr-info/last_signal_dbm"),
                          "signal", 0)
        channel = parse_int(_text(el, "channel"), "channel", 0)
        frequency = channel_frequency(channel) or _busiest_frequency(el)
        essid = el.find("SSID/essid")
        ssid = (essid.text or "").strip() if essid is not None and essid.get("cloaked") != "true" else ""
        crypts = [c.text.strip() for c in el.findall("SSID/encryption") if c.text]
        caps = "".join(f"[{c}]" for c in crypts)
        if el.get("type") == "infrastructure":
            caps += "[ESS]"
        elif el.get("type") == "ad-hoc":
            caps += "[IBSS]"
        altitude = parse_float(_text(el, "gps-info/peak-alt"), "peak-alt", 0.0)
    except RowError as exc:
        return Reject(number, f"network {number}: {exc}")
    return Sighting(bssid=bssid, ssid=ssid[:255], radio_type="W", frequency=frequency, capabilities=caps[:255],
                    level=level, lat=lat, lon=lon, altitude=altitude, accuracy=0.0, time_ms=ms, line=number)
