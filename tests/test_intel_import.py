"""Threat-intelligence import from the real STIX and MISP samples, and CSV; preview first."""

from __future__ import annotations

import io
import json

import pytest
import sqlalchemy as sa

from app.models import AuditLog, ThreatIntelligence, db
from app.threats.importers import ImportFormatError, parse_file, parse_misp, parse_stix
from app.threats.intel import save_parsed
from tests.samples import SAMPLES as SHARED_SAMPLES

SAMPLES = SHARED_SAMPLES / "threat-intel"
STIX = SAMPLES / "stix21_bundle_apt1.json"
MISP = SAMPLES / "misp_event_xorist_small.json"


def count(org_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count(ThreatIntelligence.id)).where(ThreatIntelligence.org_id == org_id))


def test_stix_bundle_indicators_and_compound_patterns():
    result = parse_stix(json.loads(STIX.read_text()))
    kinds = sorted({i.indicator_type for i in result.indicators})
    assert kinds == ["cidr", "domain", "md5"]  # the /15 networks are CIDR indicators
    assert len(result.indicators) == 10  # 4 networks, 3 domains, 3 hashes
    assert len(result.rejections) == 2  # the two x509 AND patterns
    assert all("AND" in r.reason for r in result.rejections)
    assert any(i.value == "223.166.0.0/15" for i in result.indicators)


def test_stix_or_pattern_gives_one_indicator_per_value():
    bundle = {"type": "bundle", "id": "bundle--1", "objects": [{
        "type": "indicator", "id": "indicator--1", "pattern_type": "stix", "confidence": 80,
        "pattern": "[ipv4-addr:value = '198.51.100.1'] OR [domain-name:value = 'bad.example'] OR "
                   "[file:hashes.'SHA-256' = '" + "a" * 64 + "']",
        "object_marking_refs": ["marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"],
    }]}
    result = parse_stix(bundle)
    assert [(i.indicator_type, i.tlp, i.confidence) for i in result.indicators] == [
        ("ip", "red", 80.0), ("domain", "red", 80.0), ("sha256", "red", 80.0)]


def test_misp_event_wrapped_or_bare():
    data = json.loads(MISP.read_text())
    wrapped = parse_misp(data)
    bare = parse_misp(data.get("Event", data))
    assert [(i.indicator_type, i.value) for i in wrapped.indicators] == [(i.indicator_type, i.value) for i in bare.indicators]
    assert sorted(i.indicator_type for i in wrapped.indicators) == ["md5", "sha1", "sha256"]
    assert wrapped.indicators[0].tlp == "clear" and wrapped.indicators[0].severity == "low"
    assert len(wrapped.rejections) == 6  # links, comment, text, filename, regkey|value


def test_csv_rows_with_problems_are_named_by_line():
    text = ("type,value,severity,confidence\n"
            "ip,198.51.100.7,high,90\n"
            "domain,not a domain,low,10\n"
            "\n"
            "ip,198.51.100.8,urgent,10\n"
            "md5,0749bae92ca336a02c83d126e04ec628,low,abc\n")
    result = parse_file("intel.csv", text.encode())
    assert [i.value for i in result.indicators] == ["198.51.100.7"]
    assert [r.row for r in result.rejections] == ["line 3", "line 5", "line 6"]


@pytest.mark.parametrize("name, content, message", [
    ("x.json", b'{"hello": 1}', "not a MISP event"),
    ("x.json", b"{broken", "invalid JSON"),
    ("x.csv", b"foo,bar\n1,2\n", "columns: type, value"),
    ("x.bin", b"\xff\xfe\x00", "not UTF-8"),
])
def test_files_of_the_wrong_format_are_refused_up_front(name, content, message):
    with pytest.raises(ImportFormatError, match=message):
        parse_file(name, content)


def test_saving_twice_renews_instead_of_duplicating(db_session, orgs):
    parsed = parse_file(STIX.name, STIX.read_bytes())
    first = save_parsed(orgs.a.org.id, parsed)
    assert first == {"read": 12, "imported": 10, "updated": 0, "duplicates": 0, "rejected": 2}
    second = save_parsed(orgs.a.org.id, parse_file(STIX.name, STIX.read_bytes()))
    assert second["imported"] == 0 and second["updated"] == 10
    assert count(orgs.a.org.id) == 10 and count(orgs.b.org.id) == 0


def test_values_repeated_inside_one_file_are_duplicates_not_updates(client, orgs):
    csv = (b"type,value\nip,203.0.114.7\ndomain,evil.example.org\nip,203.0.114.7\ndomain,EVIL.example.org\n"
           b"ip,198.51.99.1\n")
    first = save_parsed(orgs.a.org.id, parse_file("feed.csv", csv))
    assert (first["imported"], first["updated"], first["duplicates"]) == (3, 0, 2)
    again = save_parsed(orgs.a.org.id, parse_file("feed.csv", csv))
    assert (again["imported"], again["updated"], again["duplicates"]) == (0, 3, 2)
    client.login(orgs.a.users["analyst"].email)
    client.post("/threats/intel/import", data={"file": (io.BytesIO(csv), "feed.csv")}, content_type="multipart/form-data")
    done = client.post("/threats/intel/import/confirm").get_data(as_text=True)
    assert "2 repeated within the file (saved once)" in done and "updated 3 already known" in done


def test_web_import_previews_then_saves(client, orgs):
    client.login(orgs.a.users["analyst"].email)
    preview = client.post("/threats/intel/import", data={"file": (io.BytesIO(MISP.read_bytes()), MISP.name)},
                          content_type="multipart/form-data")
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "Preview: MISP" in html and "0749bae92ca336a02c83d126e04ec628" in html
    assert "&#39;regkey|value&#39; is not an indicator type" in html
    assert count(orgs.a.org.id) == 0  # nothing saved by the preview
    done = client.post("/threats/intel/import/confirm")
    assert done.status_code == 200 and "imported 3" in done.get_data(as_text=True)
    assert count(orgs.a.org.id) == 3
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "intel.imported"))
    again = client.post("/threats/intel/import/confirm")
    assert again.status_code == 303  # the staged file is gone


def test_web_import_refuses_a_bad_file_with_a_message(client, orgs):
    client.login(orgs.a.users["analyst"].email)
    response = client.post("/threats/intel/import", data={"file": (io.BytesIO(b"{nope"), "bad.json")},
                           content_type="multipart/form-data")
    assert response.status_code == 422 and "invalid JSON" in response.get_data(as_text=True)
    assert client.post("/threats/intel/import", data={}, content_type="multipart/form-data").status_code == 422


def test_cli_import_prints_the_counts(app, db_session, orgs):
    result = app.test_cli_runner().invoke(args=["threats", "import-intel", str(STIX), "--org", orgs.b.org.slug])
    assert result.exit_code == 0, result.output
    assert "read 12, imported 10 new, updated 0 already known, 0 repeated within the file (saved once), " \
           "rejected 2" in result.output
    bad = app.test_cli_runner().invoke(args=["threats", "import-intel", str(STIX), "--org", "nope"])
    assert bad.exit_code != 0
