"""Importer readers: samples, every radio type, every CSV quirk, refusals, SQLite and netxml
formats, and the flat-memory shape (generators that read ahead at most one batch)."""

from __future__ import annotations

import inspect
import io
import itertools

import pytest

from app.wireless import imports
from app.wireless.importers import (
    FormatError,
    Reject,
    Sighting,
    detect,
    netxml,
    open_records,
    sqlite_files,
    wigle_csv,
)
from app.wireless.importers.records import encryption_of, is_randomized, parse_mfgrid
from tests.wireless_import_files import (
    BAD_ROWS,
    EVERY_TYPE,
    EXPECTED_TYPES,
    NETXML,
    WIGLE_14,
    WIGLE_16,
    kismet_log,
    quirky_csv,
    wigle_backup,
)


def read_all(path, fmt=None, after_id=0):
    fmt = fmt or detect(path)
    with open_records(path, fmt, after_id=after_id) as (records, _share):
        items = list(records)
    return [i for i in items if isinstance(i, Sighting)], [i for i in items if isinstance(i, Reject)]


def test_wigle_14_sample():
    assert detect(WIGLE_14) == "wigle_csv"
    good, bad = read_all(WIGLE_14)
    assert len(good) == 364 and not bad  # the last line has no final newline and still counts
    first = good[0]
    assert first.bssid == "0A:8D:DB:6E:71:26" and first.ssid == "888Corp" and first.radio_type == "W"
    assert first.frequency == 2437  # 1.4 has no Frequency column: derived from channel 6
    assert first.line == 3 and good[-1].line == 366


def test_wigle_16_sample_wifi_and_ble():
    good, bad = read_all(WIGLE_16)
    assert not bad
    assert sum(1 for s in good if s.radio_type == "W") == 55
    assert sum(1 for s in good if s.radio_type == "E") == 69
    assert any("," in s.ssid for s in good)  # a quoted SSID with a comma stays one field
    ble = next(s for s in good if s.radio_type == "E")
    assert ble.mfgrid == 0x004C and ble.capabilities == "Misc [BLE]"


def test_every_radio_type_and_quirks(tmp_path):
    path = quirky_csv(tmp_path / "q.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw and not raw.endswith(b"\n")
    good, bad = read_all(path)
    assert not bad
    by = {s.bssid: s for s in good}
    assert {b: s.radio_type for b, s in by.items() if b in EXPECTED_TYPES} == EXPECTED_TYPES
    assert by["AA:BB:CC:00:00:01"].ssid == "Cafe, Bar & Grill"  # quoted comma
    assert by["AA:BB:CC:00:00:09"].ssid == "Joe,s Wifi"  # unquoted comma rejoined
    assert by["310260_5001_123456789"].frequency == 66786  # cells keep the EARFCN (WiGLE's own choice)
    assert len(good) == len(EVERY_TYPE) + 1


@pytest.mark.parametrize("kw", [dict(bom=False), dict(crlf=False), dict(final_newline=True), dict(pre_header=None),
                                dict(pre_header="exported by SomeLogger v0.1 (not WiGLE)")])
def test_each_quirk_alone(tmp_path, kw):
    good, bad = read_all(quirky_csv(tmp_path / "q.csv", **kw))
    assert len(good) == len(EVERY_TYPE) + 1 and not bad


def test_bad_rows_are_rejected_with_line_and_reason(tmp_path):
    path = quirky_csv(tmp_path / "bad.csv", rows=EVERY_TYPE[:1] + BAD_ROWS)
    good, bad = read_all(path)
    assert len(good) == 2
    reasons = {r.line: r.reason for r in bad}
    assert len(reasons) == 4
    text = " | ".join(reasons.values())
    assert "12-hex-digit" in text and "no GPS fix" in text and "expected 14 fields" in text and "ZIGBEE" in text
    # Line numbers are the file's own (pre-header 1, header 2, first row 3, blank line 5).
    assert sorted(reasons) == [4, 6, 7, 8]


def test_odd_digits_and_impossible_times_are_rows_rejected_not_a_failed_import(tmp_path):
    # "²" passes str.isdigit() and then int() raised ValueError, stopping the whole import;
    # a time past datetime's range crashed the writer.
    header = "MAC,SSID,AuthMode,FirstSeen,Channel,RSSI,CurrentLatitude,CurrentLongitude,AltitudeMeters,AccuracyMeters,Type\n"
    rows = ["0a:8d:db:6e:71:26,a,[ESS],2017-10-27 16:32:24,\u00b2,-92,32.1,34.8,30,4,WIFI",
            "0a:8d:db:6e:71:27,b,[ESS],\u00b2,6,-92,32.1,34.8,30,4,WIFI",
            "0a:8d:db:6e:71:28,c,[ESS],99999999999999999999,6,-92,32.1,34.8,30,4,WIFI",
            "0a:8d:db:6e:71:29,d,[ESS],2101-01-01 00:00:00,6,-92,32.1,34.8,30,4,WIFI",
            "0a:8d:db:6e:71:2a,ok,[ESS],2017-10-27 16:32:24,6,-92,32.1,34.8,30,4,WIFI"]
    path = tmp_path / "odd.csv"
    path.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    good, bad = read_all(path)
    assert [g.ssid for g in good] == ["ok"]
    reasons = {r.line: r.reason for r in bad}
    assert sorted(reasons) == [2, 3, 4, 5]
    assert "channel" in reasons[2] and "YYYY-MM-DD" in reasons[3]
    assert "after 2100" in reasons[4] and "after 2100" in reasons[5]


@pytest.mark.parametrize("content, needle", [
    (b"name,email\nbob,bob@example.test\n", "not a WiGLE CSV"),
    (b"", "empty"),
    (b"<?xml version='1.0'?><rss></rss>", "not a Kismet netxml"),
    (b"\x1f\x8b\x08\x00rest", "compressed"),
    (b"\x00\x01\x02binary", "binary"),
])
def test_non_format_files_are_refused_up_front(tmp_path, content, needle):
    path = tmp_path / "thing.csv"
    path.write_bytes(content)
    with pytest.raises(FormatError, match=needle):
        detect(path)


def test_other_sqlite_file_is_refused(tmp_path):
    import sqlite3

    path = tmp_path / "other.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("create table notes (id integer)")
    conn.commit()
    conn.close()
    with pytest.raises(FormatError, match="neither a WiGLE backup"):
        detect(path)


def test_wigle_backup_reader_and_incremental_mark(tmp_path):
    path = wigle_backup(tmp_path / "backup.sqlite")
    assert detect(path) == "wigle_sqlite"
    good, bad = read_all(path)
    assert len(good) == 6 and not bad
    assert {s.radio_type for s in good} == {"W", "E", "L"}
    assert [s.source_pk for s in good] == ["1", "2", "3", "4", "5", "6"]
    newer, _ = read_all(path, after_id=4)
    assert [s.line for s in newer] == [5, 6]


def test_kismet_log_reader(tmp_path):
    path = kismet_log(tmp_path / "Kismet-20260501.kismet")
    assert detect(path) == "kismet_sqlite"
    good, bad = read_all(path)
    wifi = [s for s in good if s.radio_type == "W"]
    ble = [s for s in good if s.radio_type == "E"]
    assert len(wifi) == 3 and len(ble) == 2  # the packet without GPS is not a sighting
    assert wifi[0].ssid == "CorpNet" and wifi[0].frequency == 5180 and wifi[0].capabilities == "[WPA2-PSK]"
    assert wifi[0].time_ms == 1_777_000_000_500 and wifi[0].altitude == 1600
    assert ble[0].ssid == "AirTag" and ble[0].capabilities == "Misc [LE]"
    assert sorted(r.reason.split(" from ")[1] for r in bad) == [
        "00:00:00:00:00:00 (no transmitter address)", "AA:BB:CC:99:99:99 has no device record"]


def test_kismet_log_with_a_text_signal_rejects_that_packet_only(tmp_path):
    import sqlite3

    path = kismet_log(tmp_path / "Kismet-edited.kismet")
    conn = sqlite3.connect(path)
    conn.execute("UPDATE packets SET signal = 'strong' WHERE ts_sec = (SELECT min(ts_sec) FROM packets)")
    conn.commit()
    conn.close()
    good, bad = read_all(path)
    assert len([s for s in good if s.radio_type == "W"]) == 2
    assert any("strong" in r.reason for r in bad)


def test_netxml_sample_and_adhoc_decision():
    assert detect(NETXML) == "kismet_netxml"
    good, bad = read_all(NETXML)
    assert [s.bssid for s in good] == ["00:00:00:00:00:01", "00:00:00:00:00:02"]
    one = good[0]
    assert one.ssid == "Network 1" and one.level == -55 and one.frequency == 2437
    assert (one.lat, one.lon) == (-31.985735, 115.824046) and "[ESS]" in one.capabilities
    assert good[1].ssid == ""  # cloaked
    # Decision: the ad-hoc network with BSSID 00:00:00:00:00:00 is rejected (no radio's address).
    assert len(bad) == 1 and bad[0].line == 1 and "00:00:00:00:00:00" in bad[0].reason


def test_netxml_with_another_root_is_refused():
    with pytest.raises(FormatError, match="detection-run"):
        list(netxml.read(io.BytesIO(b"<?xml version='1.0'?><other><detection-run/></other>")))


class CountingStream(io.BytesIO):
    """Records how many bytes the reader has pulled from the file."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.pulled = 0

    def read(self, n=-1):
        out = super().read(n)
        self.pulled += len(out)
        return out

    def read1(self, n=-1):
        out = super().read1(n)
        self.pulled += len(out)
        return out

    def readinto(self, b):
        n = super().readinto(b)
        self.pulled += n
        return n


def test_readers_stream_flat_memory():
    rows = "\n".join(f"aa:bb:cc:{i // 65536 % 256:02x}:{i // 256 % 256:02x}:{i % 256:02x},n{i},[ESS],"
                     f"2026-05-01 10:00:00,6,2437,-60,39.7,-104.9,0,5,,,WIFI" for i in range(60_000))
    data = ("WigleWifi-1.6\n" + "MAC,SSID,AuthMode,FirstSeen,Channel,Frequency,RSSI,CurrentLatitude,"
            "CurrentLongitude,AltitudeMeters,AccuracyMeters,RCOIs,MfgrId,Type\n" + rows).encode()
    stream = CountingStream(data)
    reader = wigle_csv.read(stream)
    assert inspect.isgenerator(reader)
    first_batch = next(imports.batched(reader, 1000))
    assert len(first_batch) == 1000
    # Only about one batch's worth of the 4.6 MB file has been read (plus the wrapper's buffer).
    assert stream.pulled < 300_000 < len(data)
    for fn in (sqlite_files.read_wigle, sqlite_files.read_kismet, netxml.read):
        assert inspect.isgeneratorfunction(fn)


def test_batched_pulls_one_batch_at_a_time():
    pulled = []
    source = (pulled.append(i) or i for i in itertools.count())
    batches = imports.batched(source, 7)
    assert next(batches) == list(range(7)) and len(pulled) == 7
    assert next(batches) == list(range(7, 14)) and len(pulled) == 14


def test_small_parsers():
    assert parse_mfgrid("76") == 76 and parse_mfgrid("004C") == 76 and parse_mfgrid("") == 0
    assert encryption_of("[WPA2_WPA3_PSK]", "W") == "wpa3" and encryption_of("[ESS]", "W") == "open"
    assert encryption_of("[WPA2-PSK-CCMP][ESS]", "W") == "wpa2" and encryption_of("LTE;310260", "L") == "unknown"
    assert is_randomized("6A:1F:95:F0:B7:53", "E") and not is_randomized("34:98:B5:FB:73:47", "W")
    assert not is_randomized("310260_5001_1", "L")
