"""SQLite inputs: WiGLE Android backups (network + location tables) and Kismet .kismet logs
(KISMET + devices + packets/data tables). Both are read through a read-only connection with
a streaming cursor, so a large file is never loaded whole."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from app.wireless.importers import ble_adv
from app.wireless.importers.records import (
    NULL_MAC,
    FormatError,
    Reject,
    RowError,
    Sighting,
    check_position,
    check_time,
    norm_bssid,
    norm_type,
    text_of,
)

FETCH = 2000


def connect(path: str | Path) -> sqlite3.Connection:
    """A read-only connection that takes no locks and writes no journal (the file is an
    upload or a copy: nothing else writes it while it is read)."""
    conn = sqlite3.connect(f"file:{quote(str(Path(path).resolve()))}?mode=ro&immutable=1", uri=True)
    conn.row_factory = sqlite3.Row
    return conn


def tables(path: str | Path) -> set[str]:
    try:
        conn = connect(path)
        try:
            return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise FormatError(f"an SQLite file that cannot be read: {exc}") from None


def max_rowid(path: str | Path, table: str) -> int:
    """The largest rowid of a table (the progress scale), 0 when empty or absent."""
    conn = connect(path)
    try:
        return int(conn.execute(f"SELECT coalesce(max(rowid), 0) FROM {table}").fetchone()[0])  # noqa: S608
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


def _rows(conn: sqlite3.Connection, sql: str, params: tuple = ()) -> Iterator[sqlite3.Row]:
    cur = conn.execute(sql, params)
    while chunk := cur.fetchmany(FETCH):
        yield from chunk


# ---------------------------------------------------------------- WiGLE Android backup


def read_wigle(path: str | Path, after_id: int = 0) -> Iterator[Sighting | Reject]:
    """Every location row with _id > after_id (the incremental mark), joined to its network.

    source_pk is the location row's _id, the backup's own key for the sighting."""
    conn = connect(path)
    try:
        sql = ("SELECT l._id, l.bssid, l.level, l.lat, l.lon, l.altitude, l.accuracy, l.time, "
               "l.external, l.mfgrid, n.ssid, n.frequency, n.capabilities, n.type, n.rcois, n.service "
               "FROM location l LEFT JOIN network n ON n.bssid = l.bssid "
               "WHERE l._id > ? ORDER BY l._id")
        try:
            rows = _rows(conn, sql, (after_id,))
            for r in rows:
                yield _wigle_row(r)
        except sqlite3.OperationalError as exc:
            raise FormatError(f"a WiGLE backup with an unexpected schema: {exc}") from None
    finally:
        conn.close()


def _wigle_row(r: sqlite3.Row) -> Sighting | Reject:
    line = int(r["_id"])
    if r["type"] is None and r["ssid"] is None:
        return Reject(line, f"location row for {r['bssid']!r} has no network row")
    try:
        rtype = norm_type(r["type"])
        bssid = norm_bssid(str(r["bssid"] or ""), rtype)
        lat, lon = float(r["lat"]), float(r["lon"])
        check_position(lat, lon)
        return Sighting(
            bssid=bssid, ssid=text_of(r["ssid"]), radio_type=rtype, frequency=int(r["frequency"] or 0),
            capabilities=text_of(r["capabilities"]), level=int(r["level"] or 0), lat=lat, lon=lon,
            altitude=float(r["altitude"] or 0), accuracy=float(r["accuracy"] or 0),
            time_ms=check_time(int(r["time"] or 0)), line=line, external=bool(r["external"]),
            mfgrid=int(r["mfgrid"] or 0), rcois=text_of(r["rcois"]), service=text_of(r["service"]),
            source_pk=str(line))
    except (TypeError, ValueError, OverflowError) as exc:
        return Reject(line, str(exc) if isinstance(exc, RowError) else f"unreadable value: {exc}")


# ---------------------------------------------------------------- Kismet .kismet

KISMET_PHYS = {"IEEE802.11": "W", "Bluetooth": "B", "BTLE": "E"}


def read_kismet(path: str | Path) -> Iterator[Sighting | Reject]:
    """GPS-bearing packets of Wi-Fi and Bluetooth devices, plus GPS-bearing `data` records of
    Bluetooth devices (Kismet logs most Bluetooth sightings there, not as packets).

    A packet without a position is not a sighting and is not counted. Packets are keyed by
    their rowid ("line" in the error report); names, encryption and types come from the
    device's JSON record, read once per device and kept in a bounded cache.

    A Bluetooth sighting's `mfgrid` is the company id of its manufacturer data, as WiGLE's
    MfgrId (importers/ble_adv.py): from the BTLE packet's own advertisement, or the data
    row's scan report, else from the device record."""
    conn = connect(path)
    try:
        try:
            version = int(conn.execute("SELECT db_version FROM KISMET").fetchone()[0])
        except (sqlite3.OperationalError, TypeError):
            raise FormatError("a Kismet log without a readable KISMET version row") from None
        scale = 100000.0 if version < 5 else 1.0  # before v5 positions were integers x 100000
        alt = "alt" if version >= 5 else "0"
        phys = tuple(KISMET_PHYS)
        marks = ",".join("?" * len(phys))
        cache: dict[tuple[str, str], dict | None] = {}
        # Only a BTLE packet's bytes are read (its advertisement); Wi-Fi frames stay unread.
        raw = ("dlt, CASE WHEN phyname = 'BTLE' THEN packet END AS packet"
               if {"dlt", "packet"} <= _columns(conn, "packets") else "0 AS dlt, NULL AS packet")
        packets = (f"SELECT rowid, ts_sec, ts_usec, phyname, sourcemac, frequency, lat, lon, {alt} AS alt, signal, "
                   f"{raw} FROM packets WHERE (lat != 0 OR lon != 0) AND phyname IN ({marks}) ORDER BY rowid")
        for r in _rows(conn, packets, phys):
            yield _kismet_row(conn, cache, r, scale, r["sourcemac"], "packet",
                              ble_adv.from_packet(r["dlt"], r["packet"]) if r["packet"] is not None else 0)
        data = (f"SELECT rowid, ts_sec, ts_usec, phyname, devmac, 0 AS frequency, lat, lon, {alt} AS alt, "
                "0 AS signal, json FROM data WHERE (lat != 0 OR lon != 0) AND phyname IN ('Bluetooth', 'BTLE') "
                "ORDER BY rowid")
        try:
            for r in _rows(conn, data):
                yield _kismet_row(conn, cache, r, scale, r["devmac"], "data", _report_company(r["json"]))
        except sqlite3.OperationalError:
            pass  # old logs have no data table
    finally:
        conn.close()


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}


def _report_company(raw: bytes | str | None) -> int:
    """The company id in a data row's scan report JSON (0: none, or not JSON)."""
    if not raw:
        return 0
    try:
        return ble_adv.from_scan_report(json.loads(raw))
    except (ValueError, TypeError):
        return 0


def _device(conn, cache, phy: str, mac: str) -> dict | None:
    key = (phy, mac)
    if key not in cache:
        if len(cache) >= 5000:
            cache.clear()
        row = conn.execute("SELECT type, device FROM devices WHERE phyname = ? AND devmac = ?", (phy, mac)).fetchone()
        if row is None:
            cache[key] = None
        else:
            try:
                doc = json.loads(row["device"] or b"{}")
            except (ValueError, TypeError):
                doc = {}
            if not isinstance(doc, dict):
                doc = {}
            company = ble_adv.from_device(doc) if phy in ("Bluetooth", "BTLE") else 0
            cache[key] = {"type": row["type"] or doc.get("kismet.device.base.type") or "", "doc": doc,
                          "company": company}
    return cache[key]


def _kismet_row(conn, cache, r, scale: float, mac: str | None, table: str, company: int = 0) -> Sighting | Reject:
    line = int(r["rowid"])
    phy = r["phyname"]
    mac = (mac or "").upper()
    if mac == NULL_MAC:
        return Reject(line, f"{table} from 00:00:00:00:00:00 (no transmitter address)")
    device = _device(conn, cache, phy, mac)
    if device is None:
        return Reject(line, f"{table} from {mac} has no device record")
    doc = device["doc"]
    rtype = "E" if phy == "BTLE" or device["type"] == "BTLE" else KISMET_PHYS[phy]
    try:
        bssid = norm_bssid(mac, rtype)
        lat, lon = float(r["lat"]) / scale, float(r["lon"]) / scale
        check_position(lat, lon)
        ms = check_time(int(r["ts_sec"]) * 1000 + int(r["ts_usec"] or 0) // 1000)
        # Parsed here too, so a text cell in a hand-edited log is one rejected row, not a failed import.
        freq = float(r["frequency"] or doc.get("kismet.device.base.frequency") or 0)
        frequency = int(freq / 1000 if freq > 100000 else freq)  # Kismet stores kHz
        level, alt = int(r["signal"] or 0), float(r["alt"] or 0)
    except (TypeError, ValueError, OverflowError) as exc:
        return Reject(line, str(exc))
    ssid, caps = _kismet_names(doc, rtype, mac)
    mfgrid = (company or device["company"]) if rtype in "BE" else 0
    return Sighting(bssid=bssid, ssid=ssid, radio_type=rtype, frequency=frequency, capabilities=caps,
                    level=level, lat=lat, lon=lon, altitude=alt,
                    accuracy=0.0, time_ms=ms, line=line, mfgrid=mfgrid)


def _kismet_names(doc: dict, rtype: str, mac: str) -> tuple[str, str]:
    if rtype == "W":
        dot11 = doc.get("dot11.device") or {}
        record = dot11.get("dot11.device.last_beaconed_ssid_record") or {}
        ssid = dot11.get("dot11.device.last_beaconed_ssid") or record.get("dot11.advertisedssid.ssid") or ""
        crypt = doc.get("kismet.device.base.crypt") or ""
        return text_of(ssid), text_of(f"[{crypt}]" if crypt else "")
    name = str(doc.get("kismet.device.base.commonname") or doc.get("kismet.device.base.name") or "")
    if name.upper() == mac:
        name = ""
    return text_of(name), "Misc [LE]" if rtype == "E" else "Misc [BT]"

