"""Builders of import test files: WiGLE CSV rows of every radio type with every quirk, a WiGLE
Android backup and a Kismet .kismet log made with sqlite3 from the published schemas."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.samples import SAMPLES as SHARED_SAMPLES

SAMPLES = SHARED_SAMPLES
WIGLE_14 = SAMPLES / "wigle-csv" / "WigleWifi_20171030201415.csv"
WIGLE_16 = SAMPLES / "wigle-csv" / "bruce_260808_064957_wardriving.csv"
NETXML = SAMPLES / "kismet" / "Kismet-test.netxml"

PRE_HEADER = ("WigleWifi-1.6,appRelease=2.70,model=Pixel 7,release=14,device=panther,display=x,"
              "board=x,brand=google,star=Sol,body=3,subBody=0")
COLUMNS = "MAC,SSID,AuthMode,FirstSeen,Channel,Frequency,RSSI,CurrentLatitude,CurrentLongitude,AltitudeMeters,AccuracyMeters,RCOIs,MfgrId,Type"
# One row per radio type; cell rows carry tower ids in the MAC column and the ARFCN in Channel.
EVERY_TYPE = [
    'aa:bb:cc:00:00:01,"Cafe, Bar & Grill",[WPA2-PSK-CCMP][ESS],2026-05-01 10:00:00,6,2437,-61,39.7392,-104.9903,1609,5,,,WIFI',
    '11:22:33:44:55:66,Headphones,Misc [BT],2026-05-01 10:00:01,0,,-70,39.7393,-104.9904,1609,5,,,BT',
    '6a:1f:95:f0:b7:53,,Misc [BLE],2026-05-01 10:00:02,0,,-80,39.7394,-104.9905,1609,5,,004C,BLE',
    '310410_12345_67890,AT&T,GSM;310410,2026-05-01 10:00:03,1945,,-85,39.7395,-104.9906,1609,5,,,GSM',
    '4183_7_1234,Verizon,CDMA;4183,2026-05-01 10:00:04,384,,-90,39.7396,-104.9907,1609,5,,,CDMA',
    '310260_2001_99887766,T-Mobile,WCDMA;310260,2026-05-01 10:00:05,4385,,-88,39.7397,-104.9908,1609,5,,,WCDMA',
    '310260_5001_123456789,T-Mobile,LTE;310260,2026-05-01 10:00:06,66786,,-95,39.7398,-104.9909,1609,5,,,LTE',
    '310260_5002_68719476735,T-Mobile,NR;310260,2026-05-01 10:00:07,521310,,-100,39.7399,-104.9910,1609,5,,,NR',
]
EXPECTED_TYPES = {"AA:BB:CC:00:00:01": "W", "11:22:33:44:55:66": "B", "6A:1F:95:F0:B7:53": "E",
                  "310410_12345_67890": "G", "4183_7_1234": "C", "310260_2001_99887766": "D",
                  "310260_5001_123456789": "L", "310260_5002_68719476735": "N"}
BAD_ROWS = [
    "zz:zz:zz:zz:zz:zz,bad mac,[ESS],2026-05-01 10:00:00,6,2437,-61,39.7,-104.9,0,5,,,WIFI",  # bad MAC
    "aa:bb:cc:00:00:02,nofix,[ESS],2026-05-01 10:00:00,6,2437,-61,0,0,0,5,,,WIFI",  # no GPS fix
    "aa:bb:cc:00:00:03,short,[ESS],2026-05-01",  # too few fields
    "aa:bb:cc:00:00:04,zig,[ESS],2026-05-01 10:00:00,6,2437,-61,39.7,-104.9,0,5,,,ZIGBEE",  # unknown type
]


def quirky_csv(path: Path, *, bom: bool = True, crlf: bool = True, final_newline: bool = False,
               pre_header: str | None = PRE_HEADER, rows: list[str] | None = None) -> Path:
    """A WiGLE CSV 1.6 with a BOM, CRLF, blank lines, an unquoted comma SSID and no final newline."""
    body = list(rows if rows is not None else EVERY_TYPE)
    body.insert(2, "")  # a blank line in the middle
    body.append("aa:bb:cc:00:00:09,Joe,s Wifi,[WPA2-PSK-CCMP][ESS],2026-05-01 10:00:09,1,2412,-66,39.74,-104.99,1609,5,,,WIFI")
    lines = ([pre_header] if pre_header is not None else []) + [COLUMNS] + body + [""]
    eol = "\r\n" if crlf else "\n"
    text = eol.join(lines).rstrip("\r\n") + (eol if final_newline else "")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


WIGLE_NETWORK = ("create table network ( bssid text primary key not null, ssid text not null, frequency int not null, "
                 "capabilities text not null, lasttime long not null, lastlat double not null, lastlon double not null, "
                 "type text not null default 'W', bestlevel integer not null default 0, bestlat double not null default 0, "
                 "bestlon double not null default 0, rcois text not null default '', mfgrid integer not null default 0, "
                 "service text not null default '')")
WIGLE_LOCATION = ("create table location ( _id integer primary key autoincrement, bssid text not null, "
                  "level integer not null, lat double not null, lon double not null, altitude double not null, "
                  "accuracy float not null, time long not null, external integer not null default 0, "
                  "mfgrid integer not null default 0)")
WIGLE_ROUTE = ("create table route ( _id integer primary key autoincrement, run_id integer not null, "
               "wifi_visible integer not null default 0, cell_visible integer not null default 0, "
               "bt_visible integer not null default 0, lat double not null, lon double not null, "
               "altitude double not null, accuracy float not null, time long not null)")
T0 = 1_777_000_000_000  # 2026-04-24, ms


def wigle_backup(path: Path, locations: int = 6) -> Path:
    """A WiGLE Android backup (the app's own schema) with a Wi-Fi AP, a BLE tag and an LTE cell."""
    conn = sqlite3.connect(path)
    conn.executescript(f"{WIGLE_NETWORK};{WIGLE_LOCATION};{WIGLE_ROUTE};")
    conn.executemany("insert into network (bssid, ssid, frequency, capabilities, lasttime, lastlat, lastlon, type) "
                     "values (?, ?, ?, ?, ?, ?, ?, ?)",
                     [("aa:bb:cc:dd:ee:01", "HomeNet", 2437, "[WPA2-PSK-CCMP][ESS]", T0, 39.7, -104.9, "W"),
                      ("c0:ff:ee:00:00:01", "Tile", 0, "Misc [LE]", T0, 39.7, -104.9, "E"),
                      ("310260_5001_42", "T-Mobile", 66786, "LTE;310260", T0, 39.7, -104.9, "L")])
    add_locations(conn, 0, locations)
    conn.commit()
    conn.close()
    return path


def add_locations(conn_or_path, start: int, count: int) -> None:
    conn = sqlite3.connect(conn_or_path) if isinstance(conn_or_path, Path) else conn_or_path
    macs = ["aa:bb:cc:dd:ee:01", "c0:ff:ee:00:00:01", "310260_5001_42"]
    conn.executemany("insert into location (bssid, level, lat, lon, altitude, accuracy, time) values (?, ?, ?, ?, ?, ?, ?)",
                     [(macs[i % 3], -50 - i, 39.7 + i * 0.001, -104.9, 1600, 4, T0 + i * 60_000)
                      for i in range(start, start + count)])
    if isinstance(conn_or_path, Path):
        conn.commit()
        conn.close()


KISMET_SCHEMA = """
CREATE TABLE KISMET (kismet_version TEXT, db_version INT, db_module TEXT);
CREATE TABLE devices (first_time INT, last_time INT, devkey TEXT, phyname TEXT, devmac TEXT, strongest_signal INT,
  min_lat REAL, min_lon REAL, max_lat REAL, max_lon REAL, avg_lat REAL, avg_lon REAL, bytes_data INT, type TEXT,
  device BLOB, UNIQUE(phyname, devmac) ON CONFLICT REPLACE);
CREATE TABLE packets (ts_sec INT, ts_usec INT, phyname TEXT, sourcemac TEXT, destmac TEXT, transmac TEXT,
  frequency REAL, devkey TEXT, lat REAL, lon REAL, alt REAL, speed REAL, heading REAL, packet_len INT, signal INT,
  datasource TEXT, dlt INT, packet BLOB, error INT, tags TEXT, datarate REAL, hash INT, packetid INT);
CREATE TABLE data (ts_sec INT, ts_usec INT, phyname TEXT, devmac TEXT, lat REAL, lon REAL, alt REAL, speed REAL,
  heading REAL, datasource TEXT, type TEXT, json BLOB);
CREATE TABLE datasources (uuid TEXT, typestring TEXT, definition TEXT, name TEXT, interface TEXT, json BLOB,
  UNIQUE(uuid) ON CONFLICT REPLACE);
CREATE TABLE alerts (ts_sec INT, ts_usec INT, phyname TEXT, devmac TEXT, lat REAL, lon REAL, header TEXT, json BLOB);
CREATE TABLE messages (ts_sec INT, lat REAL, lon REAL, msgtype TEXT, message TEXT);
CREATE TABLE snapshots (ts_sec INT, ts_usec INT, lat REAL, lon REAL, snaptype TEXT, json BLOB);
"""
KT = 1_777_000_000  # seconds


def kismet_log(path: Path) -> Path:
    """A small Kismet log (db_version 8): a Wi-Fi AP with GPS packets (one without GPS, one from an
    unknown device, one from 00:00:00:00:00:00) and a BTLE device seen in the data table."""
    conn = sqlite3.connect(path)
    conn.executescript(KISMET_SCHEMA)
    conn.execute("INSERT INTO KISMET VALUES ('2023-07-R1', 8, 'kismetdb')")
    ap = {"kismet.device.base.type": "Wi-Fi AP", "kismet.device.base.crypt": "WPA2-PSK",
          "kismet.device.base.commonname": "CorpNet", "kismet.device.base.frequency": 5180000,
          "dot11.device": {"dot11.device.last_beaconed_ssid_record": {"dot11.advertisedssid.ssid": "CorpNet"}}}
    tag = {"kismet.device.base.type": "BTLE", "kismet.device.base.commonname": "AirTag"}
    conn.executemany("INSERT INTO devices (first_time, last_time, devkey, phyname, devmac, strongest_signal, type, device) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     [(KT, KT + 60, "k1", "IEEE802.11", "AA:BB:CC:11:22:33", -40, "Wi-Fi AP", json.dumps(ap)),
                      (KT, KT + 60, "k2", "BTLE", "D0:00:00:00:00:01", -60, "BTLE", json.dumps(tag))])
    packets = [(KT + i, 500_000, "IEEE802.11", "AA:BB:CC:11:22:33", 5180000, 39.70 + i * 0.01, -104.9, 1600, -40 - i)
               for i in range(3)]
    packets += [(KT + 9, 0, "IEEE802.11", "AA:BB:CC:11:22:33", 5180000, 0, 0, 0, -41),  # no GPS: not a sighting
                (KT + 10, 0, "IEEE802.11", "AA:BB:CC:99:99:99", 2437000, 39.7, -104.9, 1600, -70),  # no device row
                (KT + 11, 0, "IEEE802.11", "00:00:00:00:00:00", 2437000, 39.7, -104.9, 1600, -70)]
    conn.executemany("INSERT INTO packets (ts_sec, ts_usec, phyname, sourcemac, frequency, lat, lon, alt, signal) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", packets)
    conn.executemany("INSERT INTO data (ts_sec, ts_usec, phyname, devmac, lat, lon, alt, type, json) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     [(KT + 20 + i, 0, "BTLE", "D0:00:00:00:00:01", 39.8, -104.8 + i * 0.01, 1600, "btle", "{}")
                      for i in range(2)])
    conn.commit()
    conn.close()
    return path
