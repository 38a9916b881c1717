"""Tracker makers from Kismet's manufacturer data (issue 20.2): a .kismet log's BLE
advertisements give the same company id as WiGLE's MfgrId, and the same tracker kinds."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.models import db
from app.models.wireless import Network, Observation
from app.wireless import imports, trackers
from app.wireless.importers import ble_adv, detect, open_records
from app.wireless.importers.records import Sighting
from tests.wireless_import_files import KISMET_SCHEMA, KT

BASE = "-0000-1000-8000-00805F9B34FB"
AIRTAG_ADV = "1EFF4C001219" + "10" + "00" * 24  # AD: manufacturer 0x004C, Find My offline finding (0x12, 25 bytes)
SMARTTAG_SERVICE = "0416" + "5AFD" + "10"  # AD: service data 0xFD5A (little-endian), first byte 0x10
FMDN_FRAME = "41" + "00" * 20  # Eddystone frame type 0x41: Google's Find My Device network
EDDYSTONE_UID = "00" + "00" * 17  # Eddystone frame type 0x00: an ordinary beacon
MICROSOFT_ADV = "06FF0600010920"  # manufacturer 0x0006 (Microsoft): no tracker maker


def ll_packet(adv_data: str, pdu_type: int = 0x2, header: bytes = b"") -> bytes:
    """A link-layer advertising packet: access address, header, AdvA, AdvData, CRC (DLT 251),
    after `header` (DLT 256's 10-byte radio header)."""
    payload = bytes.fromhex("665544332211") + bytes.fromhex(adv_data)
    return header + bytes.fromhex("D6BE898E") + bytes([0x40 | pdu_type, len(payload)]) + payload + b"\x00\x00\x00"


def kismet_tracker_log(path: Path) -> Path:
    """A Kismet log (db_version 8) with Bluetooth trackers of every kind, one way each that
    Kismet records manufacturer data, beside a Wi-Fi AP and non-tracker BLE devices."""
    conn = sqlite3.connect(path)
    conn.executescript(KISMET_SCHEMA)
    conn.execute("INSERT INTO KISMET VALUES ('2023-07-R1', 8, 'kismetdb')")
    bt = {  # devmac -> (phy, device JSON)
        "AA:BB:CC:11:22:33": ("IEEE802.11", {"kismet.device.base.type": "Wi-Fi AP"}),
        # Linux HCI / scan-report devices: the advertisement in bluetooth.device.
        "DA:00:00:00:00:01": ("Bluetooth", {"kismet.device.base.type": "BTLE", "bluetooth.device": {
            "bluetooth.device.scan_data_bytes": AIRTAG_ADV}}),
        "DA:00:00:00:00:03": ("Bluetooth", {"kismet.device.base.type": "BTLE", "bluetooth.device": {
            "bluetooth.device.service_uuid_vec": ["0000FEED" + BASE]}}),
        "DA:00:00:00:00:05": ("Bluetooth", {"kismet.device.base.type": "BTLE", "bluetooth.device": {
            "bluetooth.device.service_data_bytes": {"0000feaa" + BASE.lower(): EDDYSTONE_UID}}}),
        "DA:00:00:00:00:06": ("Bluetooth", {"kismet.device.base.type": "BTLE", "bluetooth.device": {
            "bluetooth.device.scan_data_bytes": MICROSOFT_ADV}}),
        "DA:00:00:00:00:07": ("Bluetooth", {"kismet.device.base.type": "BTLE", "bluetooth.device": {
            "bluetooth.device.scan_data_bytes": "1EFF4C"}}),  # cut short: no evidence, no failure
        # A scan report per sighting (data table): Google's Find My Device network.
        "DA:00:00:00:00:04": ("Bluetooth", {"kismet.device.base.type": "BTLE"}),
        # BTLE-phy (sniffer) devices: the advertisement only in the packets.
        "DA:00:00:00:00:02": ("BTLE", {"kismet.device.base.type": "BTLE", "btle.device": {}}),
        "DA:00:00:00:00:08": ("BTLE", {"kismet.device.base.type": "BTLE", "btle.device": {}}),
    }
    conn.executemany("INSERT INTO devices (first_time, last_time, devkey, phyname, devmac, type, device) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)",
                     [(KT, KT + 60, f"k{i}", phy, mac, doc["kismet.device.base.type"], json.dumps(doc))
                      for i, (mac, (phy, doc)) in enumerate(bt.items())])
    conn.executemany("INSERT INTO packets (ts_sec, ts_usec, phyname, sourcemac, frequency, lat, lon, alt, signal, "
                     "dlt, packet) VALUES (?, 0, ?, ?, ?, 39.7, -104.9, 1600, -60, ?, ?)",
                     [(KT, "IEEE802.11", "AA:BB:CC:11:22:33", 2437000, 127, b"\x80\x00" + bytes(30)),
                      (KT + 1, "BTLE", "DA:00:00:00:00:02", 2402000, 251, ll_packet(SMARTTAG_SERVICE)),
                      (KT + 2, "BTLE", "DA:00:00:00:00:08", 2402000, 256, ll_packet(AIRTAG_ADV, 0x0, bytes(10))),
                      (KT + 3, "BTLE", "DA:00:00:00:00:08", 2402000, 251, b"\xd6\xbe")])  # truncated packet
    data = [(KT + 10 + i, "Bluetooth", mac, json.dumps(report)) for i, (mac, report) in enumerate([
        ("DA:00:00:00:00:01", {}),
        ("DA:00:00:00:00:03", {}),
        ("DA:00:00:00:00:04", {"btaddr": "DA:00:00:00:00:04", "service_data": {"0000feaa" + BASE.lower(): FMDN_FRAME}}),
        ("DA:00:00:00:00:05", {}),
        ("DA:00:00:00:00:06", {}),
        ("DA:00:00:00:00:07", {}),
    ])]
    data.append((KT + 30, "Bluetooth", "DA:00:00:00:00:01", "not json"))
    conn.executemany("INSERT INTO data (ts_sec, ts_usec, phyname, devmac, lat, lon, alt, type, json) "
                     "VALUES (?, 0, ?, ?, 39.8, -104.8, 1600, 'BLUETOOTHSCAN', ?)", data)
    conn.commit()
    conn.close()
    return path


def read(path: Path) -> dict[str, set[int]]:
    with open_records(path, detect(path)) as (records, _share):
        items = list(records)
    out: dict[str, set[int]] = {}
    for s in items:
        if isinstance(s, Sighting):
            out.setdefault(s.bssid, set()).add(s.mfgrid)
    return out


def test_kismet_manufacturer_data_gives_wigles_company_ids(tmp_path):
    ids = read(kismet_tracker_log(tmp_path / "trackers.kismet"))
    assert ids == {
        "AA:BB:CC:11:22:33": {0},         # Wi-Fi: no manufacturer id
        "DA:00:00:00:00:01": {0x004C},    # AirTag: manufacturer data in the device record (both sightings)
        "DA:00:00:00:00:02": {0x0075},    # SmartTag: service 0xFD5A in a sniffed BTLE packet (DLT 251)
        "DA:00:00:00:00:03": {0x067C},    # Tile: service 0xFEED in the device's UUID list
        "DA:00:00:00:00:04": {0x00E0},    # Google Find My Device: Eddystone frame 0x41 in a scan report
        "DA:00:00:00:00:05": {0},         # an Eddystone UID beacon is no tracker
        "DA:00:00:00:00:06": {0x0006},    # Microsoft: stored as WiGLE would, no tracker kind
        "DA:00:00:00:00:07": {0},         # broken advertisement: no evidence
        "DA:00:00:00:00:08": {0x004C, 0},  # DLT 256 packet with Apple data; a truncated packet has none
    }
    kinds = {mac: trackers.kind_for(max(v)) for mac, v in ids.items()}
    assert kinds["DA:00:00:00:00:01"].maker == "Apple" and kinds["DA:00:00:00:00:02"].maker == "Samsung"
    assert kinds["DA:00:00:00:00:03"].maker == "Tile" and kinds["DA:00:00:00:00:04"].maker == "Google"
    assert kinds["DA:00:00:00:00:06"] is None


@pytest.mark.parametrize(("value", "code"), [("FEED", 0xFEED), ("0xfd5a", 0xFD5A), ("0000FEAA" + BASE, 0xFEAA),
                                             ("0000feaa" + BASE.lower(), 0xFEAA), ("7DFC9000-7D1C-4951-86AA-8D9728F8D66C", None),
                                             ("", None), (None, None)])
def test_uuid16(value, code):
    assert ble_adv.uuid16(value) == code


def test_advertisement_parsing_prefers_a_tracker_maker_and_survives_garbage():
    # Two manufacturer records: the tracker maker's id wins over the first record's.
    assert ble_adv.Evidence().add_ad(bytes.fromhex(MICROSOFT_ADV + AIRTAG_ADV)).company_id() == 0x004C
    assert ble_adv.Evidence().add_ad(bytes.fromhex("0303EDFE")).company_id() == 0x067C  # Tile in the UUID list
    assert ble_adv.Evidence().add_ad(bytes.fromhex("FF")).company_id() == 0
    assert ble_adv.hex_bytes("4c:00 12") == b"\x4c\x00\x12" and ble_adv.hex_bytes("zz") == b""
    assert ble_adv.from_device({"bluetooth.device": "odd"}) == 0 and ble_adv.from_scan_report([1]) == 0
    assert ble_adv.from_packet(251, ll_packet(AIRTAG_ADV, pdu_type=0x5)) == 0  # CONNECT_IND: no AdvData
    assert ble_adv.from_packet(127, ll_packet(AIRTAG_ADV)) == 0 and ble_adv.from_packet(251, None) == 0


def test_a_kismet_tracker_import_stores_the_id_and_scores_the_kind(app, orgs, tmp_path, monkeypatch):
    monkeypatch.setattr(app, "instance_path", str(tmp_path / "instance"))
    org = orgs.a.org.id
    path = kismet_tracker_log(tmp_path / "trackers.kismet")
    fmt = imports.detect(path)
    source = imports.resolve_source(org, new_code="kismet-trk", device_type=imports.DEVICE_TYPES[fmt])
    imp = imports.create_import(org, source, path, path.name, fmt, None, stored=False)
    db.session.commit()
    imp = imports.run_import(imp.id, path=path)
    assert imp.status == "succeeded"
    imports.score_touched(imp)  # what the import job does last
    stored = dict(db.session.execute(sa.select(Observation.bssid, sa.func.max(Observation.mfgrid))
                                     .where(Observation.org_id == org).group_by(Observation.bssid)).all())
    assert stored["DA:00:00:00:00:01"] == 0x004C and stored["DA:00:00:00:00:03"] == 0x067C
    assert stored["DA:00:00:00:00:02"] == 0x0075 and stored["AA:BB:CC:11:22:33"] == 0
    tile = db.session.scalar(sa.select(Network).where(Network.org_id == org, Network.bssid == "DA:00:00:00:00:03"))
    factors = {f["code"]: f for f in tile.threat_factors["factors"]}
    assert factors["tracker_kind"]["details"]["maker"] == "Tile"  # scored as WiGLE's MfgrId would be
