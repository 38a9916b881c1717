"""Bluetooth LE manufacturer data in Kismet logs (issue 20.2): the company id a Kismet .kismet
log carries for a BLE device, in the same meaning as WiGLE's MfgrId column, so the tracker
kinds of app/wireless/trackers.py apply to Kismet files as they do to WiGLE files.

Where Kismet keeps it:

- `devices.device` JSON of a Bluetooth-phy device (Linux HCI scans and scan reports sent to
  Kismet's API): `bluetooth.device.scan_data_bytes` (the advertisement's AD structures, hex),
  `bluetooth.device.service_uuid_vec` (UUID strings) and `bluetooth.device.service_data_bytes`
  (UUID string -> hex);
- `data.json` of a Bluetooth scan report (type BLUETOOTHSCAN): `scan_data` (hex) and
  `service_data` (UUID -> hex), the same bytes per sighting;
- `packets.packet` of a BTLE-phy packet (nRF/Ubertooth/TI sniffers): the raw link-layer
  advertising PDU (DLT 251, or DLT 256 with its 10-byte radio header), whose AdvData holds
  the AD structures.

From the AD structures: a manufacturer-specific record (type 0xFF) starts with its 16-bit
company id, little-endian (0x004C Apple, 0x0075 Samsung, 0x00E0 Google, 0x067C Tile: the
Bluetooth SIG's assigned numbers); 16-bit service UUIDs come from the service lists (0x02,
0x03) and service data (0x16). A tag without a maker's manufacturer record is recognised by
its maker's service (Tile 0xFEED/0xFEEC/0xFD84, Samsung SmartTag 0xFD5A) and given that maker's
company id. Google's Find My Device network shares 0xFEAA with every Eddystone beacon, so it
counts only with Eddystone frame type 0x40/0x41 (AirGuard's GoogleFindMyNetwork filter on
service data 0xFEAA); plain Eddystone beacons are no tracker.

Pure: bytes and dicts in, an int out; never raises on malformed input (a broken record is no
evidence, not a failed import).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from app.wireless import trackers

AD_SERVICES_16 = (0x02, 0x03)  # incomplete / complete list of 16-bit service UUIDs
AD_SERVICE_DATA_16 = 0x16
AD_MANUFACTURER = 0xFF
EDDYSTONE = 0xFEAA
FIND_MY_DEVICE_FRAMES = (0x40, 0x41)  # Eddystone frame types of Google's Find My Device network
ADV_PDUS = (0x0, 0x2, 0x4, 0x6)  # ADV_IND, ADV_NONCONN_IND, SCAN_RSP, ADV_SCAN_IND: AdvA then AdvData
DLT_LE_LL = 251
DLT_LE_LL_WITH_PHDR = 256
BASE_UUID_RE = re.compile(r"^0000([0-9A-F]{4})-0000-1000-8000-00805F9B34FB$")
HEX_JUNK = re.compile(r"[^0-9A-Fa-f]")


def hex_bytes(value: Any) -> bytes:
    """Bytes from Kismet's hex spelling (any separators dropped); b'' when it is not hex."""
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    text = HEX_JUNK.sub("", str(value or ""))
    try:
        return bytes.fromhex(text[: len(text) // 2 * 2])
    except ValueError:
        return b""


def uuid16(value: Any) -> int | None:
    """The 16-bit form of a Bluetooth UUID ("FEED", "0xfeed" or the 128-bit base-UUID spelling)."""
    text = str(value or "").strip().upper().removeprefix("0X")
    if re.fullmatch(r"[0-9A-F]{4}", text):
        return int(text, 16)
    found = BASE_UUID_RE.match(text)
    return int(found.group(1), 16) if found else None


def ad_structures(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(AD type, payload) of each length-prefixed AD structure; stops at a zero length or overrun."""
    i = 0
    while i < len(data):
        length = data[i]
        if length == 0 or i + 1 + length > len(data):
            return
        yield data[i + 1], data[i + 2:i + 1 + length]
        i += 1 + length


class Evidence:
    """Company ids and 16-bit services (with their service data) seen for one device."""

    def __init__(self) -> None:
        self.companies: list[int] = []
        self.services: dict[int, bytes] = {}

    def add_ad(self, data: bytes) -> Evidence:
        for ad_type, payload in ad_structures(data):
            if ad_type == AD_MANUFACTURER and len(payload) >= 2:
                self.companies.append(int.from_bytes(payload[:2], "little"))
            elif ad_type in AD_SERVICES_16:
                for j in range(0, len(payload) - 1, 2):
                    self.services.setdefault(int.from_bytes(payload[j:j + 2], "little"), b"")
            elif ad_type == AD_SERVICE_DATA_16 and len(payload) >= 2:
                self.services[int.from_bytes(payload[:2], "little")] = payload[2:]
        return self

    def add_services(self, uuids: Iterable[Any], data: Mapping[str, Any] | None = None) -> Evidence:
        for u in uuids:
            if (code := uuid16(u)) is not None:
                self.services.setdefault(code, b"")
        for u, raw in (data or {}).items():
            if (code := uuid16(u)) is not None:
                self.services[code] = hex_bytes(raw)
        return self

    def company_id(self) -> int:
        """A tracker maker's company id if anything names one, else the first manufacturer id, else 0."""
        maker = next((c for c in self.companies if trackers.kind_for(c)), None)
        if maker:
            return maker
        for code, payload in self.services.items():
            kind = trackers.kind_for_service(code)
            if kind is None:
                continue
            if code == EDDYSTONE and not (payload[:1] and payload[0] in FIND_MY_DEVICE_FRAMES):
                continue  # an ordinary Eddystone beacon (UID, URL, TLM, EID): no tracker
            return kind.company_id
        return self.companies[0] if self.companies else 0


def from_device(doc: Mapping[str, Any]) -> int:
    """The company id of a Kismet device record (its `bluetooth.device` part), 0 if none."""
    bt = doc.get("bluetooth.device") if isinstance(doc, Mapping) else None
    if not isinstance(bt, Mapping):
        return 0
    uuids = bt.get("bluetooth.device.service_uuid_vec")
    data = bt.get("bluetooth.device.service_data_bytes")
    return (Evidence().add_ad(hex_bytes(bt.get("bluetooth.device.scan_data_bytes")))
            .add_services(uuids if isinstance(uuids, list) else [], data if isinstance(data, Mapping) else None)
            .company_id())


def from_scan_report(doc: Any) -> int:
    """The company id of a `data` row's JSON (a Bluetooth scan report: scan_data, service_data), 0 if none."""
    if not isinstance(doc, Mapping):
        return 0
    data = doc.get("service_data")
    return (Evidence().add_ad(hex_bytes(doc.get("scan_data")))
            .add_services([], data if isinstance(data, Mapping) else None).company_id())


def from_packet(dlt: Any, packet: Any) -> int:
    """The company id in a raw BTLE advertising packet (DLT 251 or 256), 0 if none or unreadable."""
    if not isinstance(packet, bytes | bytearray):
        return 0
    raw = bytes(packet)
    if dlt == DLT_LE_LL_WITH_PHDR:
        raw = raw[10:]
    elif dlt != DLT_LE_LL:
        return 0
    if len(raw) < 4 + 2 + 6:
        return 0
    header, length = raw[4], raw[5]
    if header & 0x0F not in ADV_PDUS or length < 6:
        return 0
    adv_data = raw[4 + 2 + 6:4 + 2 + min(length, len(raw) - 6)]
    return Evidence().add_ad(adv_data).company_id()
