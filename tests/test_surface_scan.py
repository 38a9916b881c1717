"""The scanner's parts against the loopback lab, and the risk score as a pure function."""

from __future__ import annotations

import pytest

from app.surface import discovery, portscan, risk, scanner, tlscheck
from app.surface.providers import CtProvider, NvdProvider, kev_ids
from app.surface.resolver import Resolver
from tests.surface_lab import APACHE_BANNER, LAB_CONNECT_TIMEOUT, WILD_ZONE, ZONE, lab, surface_lab  # noqa: F401 - fixtures


def test_risk_rules_are_the_seed_upstreams():
    assert risk.score({}).score == 0 and risk.score({}).level == "low"
    # Service exposure: DB min(8n, 12), SSH/Telnet min(3n, 4), RDP min(6n, 6), admin min(2n, 4).
    assert [risk.score({"db_services": n}).score for n in (1, 2, 3)] == [8, 12, 12]
    assert [risk.score({"ssh_telnet_services": n}).score for n in (1, 2)] == [3, 4]
    assert risk.score({"rdp_services": 2}).score == 6 and risk.score({"admin_panels": 3}).score == 4
    # Open ports and subdomains are stepped.
    assert [risk.score({"open_ports": n}).score for n in (0, 1, 4, 5, 10, 15, 19, 20, 90)] == [
        0, 4, 4, 8, 12, 16, 16, 20, 20]
    assert [risk.score({"subdomains": n}).score for n in (9, 10, 20, 50, 100)] == [0, 3, 6, 10, 12]
    assert risk.score({"cloud_assets": 5}).score == 8
    # Configuration: threat-intel addresses min(5n, 10), +2 per default sign, +1 per clear-text service.
    assert risk.score({"intel_matches": 3, "default_signs": 2, "cleartext_services": 3}).score == 17
    # CVEs: critical min(4n, 10), high min(1n, 4), KEV min(5n, 8), exploits min(2n, 6).
    assert risk.score({"critical_cves": 2}).score == 8 and risk.score({"critical_cves": 5}).score == 10
    assert risk.score({"high_cves": 9}).score == 4 and risk.score({"exploit_cves": 9}).score == 6
    assert risk.score({"kev_cves": 1}).score == 5 and risk.score({"kev_cves": 4}).score == 8
    # A category never passes 20, and the page can say so.
    capped = risk.score({"critical_cves": 9, "high_cves": 9, "kev_cves": 9})
    cves = next(c for c in capped.categories if c.name == "CVEs")
    assert (cves.points, cves.capped, capped.score) == (20, True, 20)
    assert cves.lines[0].why() == "9 critical CVEs (CVSS 9+): min(4 x 9, 10) = 10"
    ports = risk.score({"open_ports": 7}).categories[0].lines[0]
    assert ports.why() == "7 open TCP ports: stepped (1+: 4, 5+: 8, 10+: 12, 15+: 16, 20+: 20) = 8"
    assert risk.score({"axfr_allowed": 1}).categories[3].lines[0].why().endswith("[Vigil]")
    everything = risk.score({key: 500 for key in risk.INPUTS})
    assert everything.score == 100 and everything.level == "critical"
    with pytest.raises(KeyError):
        risk.score({"made_up": 1})


@pytest.mark.parametrize(("value", "level"), [(0, "low"), (25, "low"), (26, "medium"), (50, "medium"),
                                              (51, "high"), (75, "high"), (76, "critical"), (100, "critical")])
def test_the_one_level_table(value, level):
    assert risk.level_for(value) == level


def test_wildcard_zones_yield_no_wordlist_names(app, lab):  # noqa: F811
    with app.app_context():
        resolver = Resolver()
        wildcard = discovery.wildcard_addresses(resolver, WILD_ZONE)
        assert wildcard == {"127.0.0.9"}
        assert discovery.wordlist_hits(resolver, WILD_ZONE, ["www", "mail", "dev"], wildcard) == []
        assert discovery.wordlist_hits(resolver, ZONE, ["www", "mail", "dev", "nope"], set()) == [
            "dev.lab.test", "mail.lab.test", "www.lab.test"]


def test_providers_against_the_fakes(app, lab):  # noqa: F811
    with app.app_context():
        assert CtProvider().names(ZONE) == ["api.lab.test", "lab.test", "old.lab.test", "www.lab.test"]
        cves = NvdProvider().cves("apache", "2.4.49")
        assert {c.cve_id for c in cves} == {"CVE-2021-41773", "CVE-2021-42013"}
        assert all(c.kev for c in cves) and "CVE-2021-44228" in kev_ids()
        assert lab.nvd_requests == ["cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*"]
        assert NvdProvider().cves("unknownthing", "1.0") == []
        app.config["SURFACE_NVD_API_KEY"] = "nvd-key-1"
        try:
            NvdProvider().cves("vsftpd", "2.3.4")
        finally:
            del app.config["SURFACE_NVD_API_KEY"]
        assert {k.lower(): v for k, v in lab.nvd_headers[-1].items()}["apikey"] == "nvd-key-1"


def test_port_scan_guesses_services_from_banners(app, lab):  # noqa: F811
    with app.app_context():
        found = {p.port: p for p in portscan.scan(["127.0.0.1"], lab.ports, timeout=LAB_CONNECT_TIMEOUT, hosts={"127.0.0.1": ZONE})}
    assert lab.closed_port not in found
    assert (found[lab.banner_ports["ssh"]].service, found[lab.banner_ports["ssh"]].version) == ("ssh", "7.4")
    assert (found[lab.banner_ports["ftp"]].product, found[lab.banner_ports["ftp"]].version) == ("vsftpd", "2.3.4")
    assert found[lab.banner_ports["mysql"]].service == "mysql"
    assert "\x00" not in found[lab.banner_ports["mysql"]].banner
    http = found[lab.http_port]
    assert (http.service, http.product, http.version) == ("http", "apache", "2.4.49")
    assert APACHE_BANNER in http.banner
    assert found[lab.https_port].service == "https"


def test_tls_report_of_the_lab_certificate(app, lab):  # noqa: F811
    report = tlscheck.check("127.0.0.1", lab.https_port, f"api.{ZONE}")
    assert report.self_signed and not report.hostname_matches and 0 <= report.days_left <= 10
    assert report.protocol in ("TLSv1.2", "TLSv1.3") and report.legacy_protocols == []
    types = {p[0] for p in report.problems()}
    assert types == {"tls_self_signed", "tls_hostname_mismatch", "tls_certificate_expiring"}
    assert tlscheck.check("127.0.0.1", lab.https_port, f"www.{ZONE}").hostname_matches


def test_a_passive_plan_never_touches_the_hosts(app, lab):  # noqa: F811
    with app.app_context():
        result = scanner.run(scanner.ScanPlan(ZONE, active=False, in_scope=lambda host: True))
    assert lab.http_requests == [] and lab.tcp_connections == []
    assert result["axfr"] and {c["host"] for c in result["cloud_assets"]} == {"dev.lab.test", "cdn.lab.test"}
    assert result["mail"]["dkim_selectors"] == ["default"] and result["mail"]["dmarc"] == []
    assert "old.lab.test" not in result["subdomains"]  # seen in CT, gone from DNS


def test_threat_intelligence_matches_resolved_addresses(app, lab):  # noqa: F811
    with app.app_context():
        result = scanner.run(scanner.ScanPlan(ZONE, intel_lookup=lambda ip: {"indicator": ip} if ip == "127.0.0.2"
                                              else None))
    assert [f["asset"] for f in result["findings"] if f["type"] == "threat_intel_match"] == ["127.0.0.2"]
    assert result["risk_inputs"]["intel_matches"] == 1


def test_web_requests_are_paced():
    from app.surface.httpclient import Pacer

    now, slept = [100.0], []
    pacer = Pacer(clock=lambda: now[0], sleep=slept.append)
    for _ in range(4):
        pacer.wait(10)
    assert slept == pytest.approx([0.1, 0.2, 0.3])
    now[0] = 200.0
    pacer.wait(10)
    pacer.wait(0)  # no limit
    assert len(slept) == 3


def test_csv_export_neutralises_formulas():
    from app.surface.findings import EXPORT_FIELDS, to_csv

    record = dict.fromkeys(EXPORT_FIELDS, "")
    record.update(title="=HYPERLINK(\"http://evil\")", asset="-1+2", evidence="plain")
    text = to_csv([record])
    assert "'=HYPERLINK" in text and "'-1+2" in text and ",plain," in text
