"""Lightbox tests and TLS checks against the lab's planted problems, each next to a clean host.

`api.lab.test` reflects any Origin with credentials, redirects `?next=` anywhere, allows
PUT/DELETE/TRACE and shows a traceback on errors; `www.lab.test` (same servers) does none of
that. The legacy HTTPS server has a 1024-bit RSA certificate and accepts TLS 1.0 and 1.1;
the main one has an EC key and refuses both.
"""

from __future__ import annotations

import pytest

from app.surface import lightbox, scanner, tlscheck
from app.surface.lightbox import CANARY_HOST, Site
from tests.surface_lab import DEBUG_HOST, ZONE, lab, surface_lab  # noqa: F401 - fixtures

CLEAN_HOST = f"www.{ZONE}"
PLANTED = {"cors_reflects_origin", "open_redirect", "dangerous_http_methods", "stack_trace_disclosure"}


def failed(results: list[lightbox.TestResult]) -> dict[str, lightbox.TestResult]:
    return {r.finding_type: r for r in results if not r.passed}


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_planted_web_problems_are_found_on_the_debug_host_only(app, lab, scheme):  # noqa: F811
    port = lab.http_port if scheme == "http" else lab.https_port
    with app.app_context():
        debug = failed(lightbox.run(Site(scheme, "127.0.0.1", port, DEBUG_HOST)))
        clean_results = lightbox.run(Site(scheme, "127.0.0.1", port, CLEAN_HOST))
    assert PLANTED <= set(debug)
    clean = failed(clean_results)
    assert not PLANTED & set(clean)
    ran = {r.test for r in clean_results if r.passed}
    assert {"CORS origin reflection", "open redirect ?next=", "HTTP methods", "stack trace disclosure"} <= ran

    cors = debug["cors_reflects_origin"]
    assert cors.severity == "high"
    assert f"Access-Control-Allow-Origin: https://{CANARY_HOST}" in cors.evidence
    assert "Access-Control-Allow-Credentials: true" in cors.evidence
    redirect = debug["open_redirect"]
    assert redirect.status_code == 302 and f"Location: https://{CANARY_HOST}/" in redirect.evidence
    assert redirect.url.endswith(f"/?next=https://{CANARY_HOST}/")
    methods = debug["dangerous_http_methods"]
    assert methods.title == f"{DEBUG_HOST} allows PUT, DELETE, TRACE" and methods.evidence.startswith("OPTIONS ")
    trace = debug["stack_trace_disclosure"]
    assert trace.status_code == 500 and "Traceback (most recent call last)" in trace.evidence
    assert all(len(r.evidence.encode()) <= lightbox.EVIDENCE_LIMIT for r in debug.values())


def test_redirect_and_cors_probes_only_ever_name_the_canary_host(app, lab):  # noqa: F811
    with app.app_context():
        lightbox.run(Site("http", "127.0.0.1", lab.http_port, DEBUG_HOST))
    redirect_probes = [path for _, _, _, path in lab.http_requests if "=" in path]
    assert redirect_probes and all(path.endswith(f"=https://{CANARY_HOST}/") for path in redirect_probes)
    # Nothing but GET and OPTIONS: the methods test asks, it never tries PUT, DELETE or TRACE.
    assert {method for _, _, method, _ in lab.http_requests} == {"GET", "OPTIONS"}


def test_weak_rsa_key_and_legacy_tls_are_found(app, lab):  # noqa: F811
    weak = tlscheck.check("127.0.0.1", lab.legacy_tls_port, f"legacy.{ZONE}")
    assert weak.error is None, weak.error
    assert (weak.key_type, weak.key_bits) == ("RSA", 1024)
    assert weak.legacy_protocols == ["TLS 1.0", "TLS 1.1"]
    problems = {p[0]: p for p in weak.problems()}
    assert problems["tls_weak_key"][2].endswith("RSA key of 1024 bits")
    assert problems["tls_legacy_protocol"][2].endswith("accepts TLS 1.0 and TLS 1.1")

    clean = tlscheck.check("127.0.0.1", lab.https_port, CLEAN_HOST)
    assert clean.key_type == "EC" and clean.legacy_protocols == []
    assert not {"tls_weak_key", "tls_legacy_protocol"} & {p[0] for p in clean.problems()}


def test_an_active_scan_reports_the_planted_problems_per_host(app, lab):  # noqa: F811
    in_scope = {DEBUG_HOST, CLEAN_HOST}
    ports = f"{lab.http_port},{lab.https_port},{lab.legacy_tls_port}"
    saved = app.config["SURFACE_PORTS"]
    app.config["SURFACE_PORTS"] = ports
    try:
        with app.app_context():
            result = scanner.run(scanner.ScanPlan(ZONE, active=True, in_scope=lambda host: host in in_scope))
    finally:
        app.config["SURFACE_PORTS"] = saved
    found = {(f["type"], f["asset"].split(":")[0]) for f in result["findings"]}
    for finding_type in PLANTED:
        assert (finding_type, DEBUG_HOST) in found
        assert (finding_type, CLEAN_HOST) not in found
    legacy_assets = {f["asset"] for f in result["findings"] if f["type"] in ("tls_weak_key", "tls_legacy_protocol")}
    assert legacy_assets == {f"{host}:{lab.legacy_tls_port}" for host in (DEBUG_HOST, CLEAN_HOST)}
    # Each planted exposure scores in the configuration category (3 per finding, at most 9).
    assert result["risk_inputs"]["exposure_findings"] >= 4
