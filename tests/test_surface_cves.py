"""CVE points from real findings, the shipped KEV copy (CISA's complete catalogue) and its refresh
from a file or a URL (a fake serving the shape of CISA's feed), and the scan's JSON shapes."""

from __future__ import annotations

import json
import re

import pytest

from app.models import db
from app.surface import demo, domains, risk, scanner, scans
from app.surface.providers import NvdProvider, kev_ids, kev_path, kev_status
from app.surface.settings import DATA_DIR
from tests.surface_lab import KEV_FEED, ZONE, lab, surface_lab  # noqa: F401 - fixtures


def synthetic(rows: list[dict], kept: list[dict] | None = None) -> dict[str, int]:
    """risk_counts of a scan whose only findings are the given CVE rows (or the `kept` ones)."""
    findings = scanner.Findings()
    for row in rows if kept is None else kept:
        findings.add(f"cve:{row['cve']}", row.get("severity", "high"), row["asset"], row["cve"], source="probe")
    result = {"domain": ZONE, "hosts": [], "cloud_assets": [], "intel": [], "axfr": {}, "cves": rows}
    return scanner.risk_counts(result, [], findings)


def cve(cve_id: str, cvss: float | None, *, severity: str = "high", kev: bool = False, exploit: bool = False,
        asset: str = "127.0.0.1:80") -> dict:
    return {"cve": cve_id, "asset": asset, "product": "apache", "version": "2.4.49", "cvss": cvss,
            "severity": severity, "kev": kev, "exploit": exploit, "summary": ""}


def cve_lines(counts: dict[str, int]) -> dict[str, tuple[int, int]]:
    """rule -> (count, points) of the CVE category."""
    category = next(c for c in risk.score(counts).as_dict()["categories"] if c["name"] == "CVEs")
    return {line["rule"]: (line["count"], line["points"]) for line in category["lines"]}


def test_critical_cves_score_min_4n_10():
    assert cve_lines(synthetic([cve("CVE-1", 9.8)])) == {"critical_cves": (1, 4)}
    assert cve_lines(synthetic([cve(f"CVE-{n}", 9.0) for n in range(2)])) == {"critical_cves": (2, 8)}
    assert cve_lines(synthetic([cve(f"CVE-{n}", 10.0) for n in range(3)])) == {"critical_cves": (3, 10)}
    # No CVSS: NVD's severity decides.
    assert cve_lines(synthetic([cve("CVE-1", None, severity="critical")])) == {"critical_cves": (1, 4)}


def test_high_cves_score_min_n_4():
    assert cve_lines(synthetic([cve("CVE-1", 7.0), cve("CVE-2", 8.9)])) == {"high_cves": (2, 2)}
    assert cve_lines(synthetic([cve(f"CVE-{n}", 7.5) for n in range(6)])) == {"high_cves": (6, 4)}
    assert cve_lines(synthetic([cve("CVE-1", 6.9, severity="medium")])) == {}


def test_kev_cves_score_min_5n_8():
    assert cve_lines(synthetic([cve("CVE-1", 5.0, kev=True)])) == {"kev_cves": (1, 5)}
    lines = cve_lines(synthetic([cve("CVE-1", 7.5, kev=True), cve("CVE-2", 7.5, kev=True)]))
    assert lines == {"high_cves": (2, 2), "kev_cves": (2, 8)}


def test_cves_with_a_public_exploit_score_min_2n_6():
    assert cve_lines(synthetic([cve("CVE-1", 5.0, exploit=True)])) == {"exploit_cves": (1, 2)}
    assert cve_lines(synthetic([cve(f"CVE-{n}", 5.0, exploit=True) for n in range(5)])) == {"exploit_cves": (5, 6)}


def test_cve_counts_follow_the_findings():
    # One per (CVE, asset): the same CVE on two services counts twice, a repeated row once.
    rows = [cve("CVE-1", 9.8, kev=True, exploit=True), cve("CVE-1", 9.8, kev=True, exploit=True),
            cve("CVE-1", 9.8, kev=True, exploit=True, asset="127.0.0.1:443")]
    assert cve_lines(synthetic(rows)) == {"critical_cves": (2, 8), "kev_cves": (2, 8), "exploit_cves": (2, 4)}
    # A CVE row that is no finding of the scan scores nothing.
    assert synthetic(rows, kept=[]) == synthetic([])
    capped = risk.score(synthetic([cve(f"CVE-{n}", 9.8, kev=True, exploit=True) for n in range(5)]))
    category = next(c for c in capped.categories if c.name == "CVEs")
    assert (category.points, category.capped) == (20, True)  # 10 + 8 + 6 = 24, capped at 20


def test_an_active_lab_scan_scores_its_cves(app, lab):  # noqa: F811
    with app.app_context():
        result = scanner.run(scanner.ScanPlan(ZONE, active=True, in_scope=lambda host: host == f"www.{ZONE}"))
    by_id: dict[str, set[str]] = {}
    for row in result["cves"]:
        by_id.setdefault(row["cve"], set()).add(row["asset"])
    apache_assets = by_id["CVE-2021-42013"]
    assert len(apache_assets) == 2 and by_id["CVE-2011-2523"]  # Apache on HTTP and HTTPS, vsftpd on FTP
    inputs = result["risk_inputs"]
    assert inputs["exploit_cves"] == len(apache_assets) + 1  # NVD tags 42013 and 2523 "Exploit"
    assert inputs["kev_cves"] == 2 * len(apache_assets)  # 41773 and 42013 are in the shipped copy, 2523 is not
    assert inputs["critical_cves"] == len(apache_assets) + 1 and inputs["high_cves"] == len(apache_assets)
    lines = {line["rule"]: line for c in result["risk"]["categories"] for line in c["lines"]}
    assert lines["exploit_cves"]["points"] == 6 and lines["kev_cves"]["points"] == 8
    evidence = next(f["evidence"] for f in result["findings"] if f["type"] == "cve:CVE-2011-2523")
    assert "public exploit" in evidence and "KEV" not in evidence


def test_the_shipped_kev_copy_is_the_complete_catalogue(app):
    with app.app_context():
        assert kev_path() == DATA_DIR / "kev.json"
        status = kev_status()
        ids = kev_ids()
    shipped = json.loads((DATA_DIR / "kev.json").read_text())
    rows = shipped["vulnerabilities"]
    # cisagov/kev-data's CSV at commit f6e1406 (newest entry 2025-05-12) lists 1,336 entries.
    assert not status["partial"] and status["count"] == shipped["count"] == len(rows) == len(ids) == 1336
    assert status["newest_added"] == shipped["newestDateAdded"] == "2025-05-12"
    assert all(re.fullmatch(r"CVE-\d{4}-\d{4,}", row["cveID"]) for row in rows)
    assert all(set(row) == {"cveID", "vendorProject", "product", "vulnerabilityName", "dateAdded",
                            "knownRansomwareCampaignUse"} for row in rows)
    # The two JSON releases whose headers were read agree with the copy's older part.
    assert sum(row["dateAdded"] <= "2025-02-25" for row in rows) == 1280  # 2025.02.25: count 1280
    assert sum(row["dateAdded"] <= "2025-02-13" for row in rows) == 1271  # 2025.02.13: count 1271
    assert {"CVE-2021-44228", "CVE-2021-41773", "CVE-2021-42013", "CVE-2025-47729"} <= ids
    assert "CVE-2011-2523" not in ids  # vsFTPd's backdoor is not in CISA's catalogue
    assert "CC0" in shipped["licence"] and "github.com/cisagov/kev-data" in shipped["source"]
    readme = (DATA_DIR / "README.md").read_text()
    assert "public domain" in readme and "cisagov/kev-data" in readme and "1,336" in readme
    help_text = " ".join(app.test_cli_runner().invoke(args=["surface", "kev-import", "--help"]).output.split())
    assert "PARTIAL" not in help_text and "ships the complete catalogue" in help_text and "URL" in help_text


@pytest.fixture()
def kev_file(app, tmp_path):
    """Point the KEV copy at a temporary file (a copy of the shipped one)."""
    target = tmp_path / "kev.json"
    target.write_text((DATA_DIR / "kev.json").read_text())
    app.config["SURFACE_KEV_FILE"] = str(target)
    yield target
    del app.config["SURFACE_KEV_FILE"]


def test_kev_import_from_a_url_loads_the_whole_feed(app, lab, kev_file):  # noqa: F811
    shipped_before = (DATA_DIR / "kev.json").read_bytes()
    out = app.test_cli_runner().invoke(args=["surface", "kev-import", lab.kev_url])
    assert out.exit_code == 0, out.output
    assert "3 KEV entries (catalogue 2026.12.01)" in out.output and "PARTIAL" not in out.output
    assert lab.kev_requests == ["/kev/known_exploited_vulnerabilities.json"]
    stored = json.loads(kev_file.read_text())
    assert stored["source"] == lab.kev_url and stored["partial"] is False
    assert stored["vulnerabilities"][0]["knownRansomwareCampaignUse"] == "Known"
    assert "requiredAction" not in stored["vulnerabilities"][0]  # only the fields Vigil uses are kept
    with app.app_context():
        assert kev_ids() == {"CVE-2021-42013", "CVE-2011-2523", "CVE-2099-0001"}
        assert kev_status()["count"] == 3 and not kev_status()["partial"]
        flagged = {c.cve_id: c.kev for c in NvdProvider().cves("vsftpd", "2.3.4")}
    assert flagged == {"CVE-2011-2523": True}  # not in the shipped subset, in the loaded feed
    assert (DATA_DIR / "kev.json").read_bytes() == shipped_before  # the shipped copy was not touched


def test_kev_import_defaults_to_the_configured_feed(app, lab, kev_file):  # noqa: F811
    app.config["SURFACE_KEV_URL"] = lab.kev_url
    try:
        out = app.test_cli_runner().invoke(args=["surface", "kev-import"])
    finally:
        del app.config["SURFACE_KEV_URL"]
    assert out.exit_code == 0, out.output and len(lab.kev_requests) == 1


def test_kev_import_from_a_file_and_bad_sources(app, lab, kev_file, tmp_path):  # noqa: F811
    runner = app.test_cli_runner()
    short = dict(KEV_FEED, count=1400)  # says it holds more than it lists: a partial copy
    path = tmp_path / "known_exploited_vulnerabilities.json"
    path.write_text(json.dumps(short))
    out = runner.invoke(args=["surface", "kev-import", str(path)])
    assert out.exit_code == 0 and "still PARTIAL" in out.output
    with app.app_context():
        assert kev_status()["partial"]
    before = kev_file.read_bytes()
    (tmp_path / "junk.json").write_text("<html>not json</html>")
    (tmp_path / "empty.json").write_text(json.dumps({"vulnerabilities": [{"cveID": "nope"}]}))
    for source in (str(tmp_path / "junk.json"), str(tmp_path / "empty.json"), str(tmp_path / "missing.json"),
                   lab.ct_url + "/?q=x", "http://127.0.0.1:9/kev.json"):
        failed = runner.invoke(args=["surface", "kev-import", source])
        assert failed.exit_code == 2, (source, failed.output)
        assert "not a KEV catalogue" in failed.output or "cannot read" in failed.output
    assert kev_file.read_bytes() == before  # a failed import leaves the copy as it was


def stored_scan(org_id: int) -> tuple:
    """A domain with one stored scan holding a KEV CVE with a public exploit (no network)."""
    row, _ = domains.add_domain(org_id, ZONE, actor_label="test")
    result = demo.demo_result(ZONE)
    result["active"] = True
    result["open_ports"] = [{"host": "127.0.0.1", "port": 80, "service": "http", "product": "apache",
                             "version": "2.4.49", "banner": "", "tls": False, "hostnames": [f"www.{ZONE}"]}]
    result["cves"] = [cve("CVE-2021-42013", 9.8, severity="critical", kev=True, exploit=True)]
    findings = scanner.Findings()
    for item in result["findings"]:
        findings.items[(item["type"], item["asset"])] = item
    findings.add("cve:CVE-2021-42013", "critical", "127.0.0.1:80", "apache 2.4.49: CVE-2021-42013 - in CISA KEV",
                 source="probe")
    result["findings"] = list(findings.items.values())
    result["risk_inputs"] = scanner.risk_counts(result, [], findings)
    result["risk"] = risk.score(result["risk_inputs"]).as_dict()
    history = scans.store(org_id, row.id, result)
    db.session.commit()
    return row, history


def test_the_domain_page_tells_which_kev_copy_is_loaded(client, orgs):
    row, _ = stored_scan(orgs.a.org.id)
    client.login(orgs.a.users["analyst"].email)
    page = client.get(f"/surface/domains/{row.id}")
    assert page.status_code == 200
    assert "1336 entries, newest added 2025-05-12" in page.text and "vigil surface kev-import" in page.text
    assert "This copy is partial" not in page.text
    assert "CVE-2021-42013" in page.text and "CISA KEV" in page.text and "public exploit" in page.text
    assert "CVEs with a public exploit (NVD reference tagged Exploit): min(2 x 1, 6) = 2" in page.text


def test_the_domain_page_warns_when_the_kev_copy_is_partial(app, client, orgs, kev_file):
    kev_file.write_text(json.dumps(dict(KEV_FEED, count=1400, partial=True)))
    row, _ = stored_scan(orgs.a.org.id)
    client.login(orgs.a.users["analyst"].email)
    page = client.get(f"/surface/domains/{row.id}")
    assert page.status_code == 200
    assert "3 entries, version 2026.12.01, newest added 2026-12-01" in page.text
    assert "This copy is partial" in page.text


def test_the_scan_json_download_has_the_cli_shape(app, client, orgs):
    row, history = stored_scan(orgs.a.org.id)
    client.login(orgs.a.users["analyst"].email)
    response = client.get(f"/surface/scans/{history.id}.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    data = response.get_json()
    assert data == json.loads(json.dumps(scans.summary_json(history.results_json), default=str))
    assert {"risk_score", "risk_level", "subdomains", "open_ports", "findings"} <= set(data)
    assert data["open_ports"] == [{"host": "127.0.0.1", "port": 80, "service": "http", "product": "apache",
                                   "version": "2.4.49", "hostnames": [f"www.{ZONE}"]}]
    assert all({"type", "severity", "asset", "evidence"} <= set(f) for f in data["findings"])
    assert data["risk_score"] == history.risk_score and data["risk_level"] == history.risk_level
    assert f"/surface/scans/{history.id}.json" in client.get(f"/surface/scans/{history.id}").text
    other = app.test_client()
    other.login(orgs.b.users["admin"].email)
    assert other.get(f"/surface/scans/{history.id}.json").status_code == 404
