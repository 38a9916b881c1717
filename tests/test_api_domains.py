"""The attack-surface, exposure, canary-token and compliance resources of the JSON API
(issue 13.6): each pages without duplicates or gaps, refuses a key without its scope, keeps
to the key's organization (another's id is a 404) and leaks no secret."""

from __future__ import annotations

import json
import secrets

import pytest

from app.models import (
    BaitAccess,
    BaitToken,
    ComplianceAssessment,
    ComplianceControl,
    MonitoredEmail,
    MonitoredEmailFinding,
    db,
)
from app.models.surface import LightboxFinding, SurfaceDomain
from app.scopes import scopes_for
from tests.test_api_registry import key, walk


def surface(org_id: int, n: int = 3) -> SurfaceDomain:
    domain = SurfaceDomain(org_id=org_id, domain=f"d{secrets.token_hex(3)}.example", verification_token_enc="x")
    db.session.add(domain)
    db.session.flush()
    for i in range(n):
        db.session.add(LightboxFinding(org_id=org_id, domain_id=domain.id, fingerprint=secrets.token_hex(8),
                                       asset=f"www{i}.{domain.domain}", finding_type="exposed_git",
                                       severity="high" if i % 2 else "low"))
    db.session.flush()
    return domain


def exposure(org_id: int, n: int = 3) -> MonitoredEmail:
    email = MonitoredEmail(org_id=org_id, email_address=f"{secrets.token_hex(3)}@example.test")
    db.session.add(email)
    db.session.flush()
    for i in range(n):
        db.session.add(MonitoredEmailFinding(org_id=org_id, monitored_email_id=email.id, finding_type="breach",
                                             source="file", breach_name=f"Breach {i}", severity="high",
                                             dedupe_key=secrets.token_hex(8),
                                             details={"password": "hunter2-secret", "masked": "hu*****"}))
    db.session.flush()
    return email


def bait(org_id: int, n: int = 3) -> BaitToken:
    token = BaitToken(org_id=org_id, identifier=secrets.token_hex(8), trigger=f"https://t/{secrets.token_hex(8)}",
                      name="AWS key in wiki", bait_type="aws", token_value="sealed-fake-credential")
    db.session.add(token)
    db.session.flush()
    for _ in range(n):
        db.session.add(BaitAccess(org_id=org_id, bait_id=token.id, source_ip="203.0.113.9", request_type="http"))
    db.session.flush()
    return token


def assessment(org_id: int) -> ComplianceAssessment:
    row = ComplianceAssessment(org_id=org_id, framework="SOC2", overall_compliance_score=75)
    db.session.add(row)
    db.session.flush()
    for i, status in enumerate(("compliant", "partial", "non_compliant", "compliant")):
        db.session.add(ComplianceControl(org_id=org_id, assessment_id=row.id, control_id=f"CC{i}",
                                         control_name=f"Control {i}", control_category="Access" if i < 2 else "Ops",
                                         status=status))
    db.session.flush()
    return row


CASES = {
    # scope: (builder, list URL of the org's rows, detail/child URL of one row, expected ids)
    "surface:read": (surface, "/api/surface/domains", "/api/surface/domains/{id}"),
    "exposure:read": (exposure, "/api/exposure/monitored", None),
    "bait:read": (bait, "/api/bait/tokens", "/api/bait/tokens/{id}/accesses"),
    "compliance:read": (assessment, "/api/compliance/assessments", "/api/compliance/assessments/{id}"),
}


@pytest.mark.parametrize("scope", list(CASES))
def test_each_domain_pages_refuses_without_scope_and_hides_other_orgs(client, orgs, scope):
    build, url, one = CASES[scope]
    mine = [build(orgs.a.org.id).id for _ in range(5)]
    theirs = build(orgs.b.org.id)
    db.session.commit()
    headers = key(orgs, [scope], role="analyst")
    assert walk(client, url, headers) == sorted(mine, reverse=True)
    assert client.get(url, headers=key(orgs, ["alerts:read"], role="analyst")).status_code == 403
    if one:
        assert client.get(one.format(id=theirs.id), headers=headers).status_code == 404
        assert client.get(one.format(id=mine[0]), headers=headers).status_code == 200


def test_surface_findings_filter_and_page(client, orgs):
    domain = surface(orgs.a.org.id, n=6)
    surface(orgs.b.org.id)
    db.session.commit()
    headers = key(orgs, ["surface:read"])
    assert len(walk(client, "/api/surface/findings", headers)) == 6
    high = client.get(f"/api/surface/findings?severity=high&domain_id={domain.id}", headers=headers).json["items"]
    assert len(high) == 3 and all(f["severity"] == "high" for f in high)


def test_exposure_findings_never_carry_the_leaked_values(client, orgs):
    exposure(orgs.a.org.id, n=5)
    exposure(orgs.b.org.id)
    db.session.commit()
    response = client.get("/api/exposure/findings?limit=200", headers=key(orgs, ["exposure:read"], role="analyst"))
    assert len(response.json["items"]) == 5
    assert "hunter2" not in response.get_data(as_text=True) and "hu***" not in response.get_data(as_text=True)
    assert all(set(f) >= {"breach", "severity", "email"} for f in response.json["items"])


def test_bait_tokens_never_show_their_credential_or_trigger(client, orgs):
    token = bait(orgs.a.org.id)
    db.session.commit()
    body = json.dumps(client.get("/api/bait/tokens", headers=key(orgs, ["bait:read"])).json)
    assert token.name in body and "sealed-fake-credential" not in body and token.trigger not in body
    assert len(walk(client, f"/api/bait/tokens/{token.id}/accesses", key(orgs, ["bait:read"]))) == 3


def test_bait_scope_is_read_only_like_the_pages(client, orgs):
    """Issue 22: read-only users read the token pages, so their keys may carry bait:read; the
    credential and the trigger stay out of the API for every role."""
    token = bait(orgs.a.org.id)
    db.session.commit()
    assert "bait:read" in scopes_for(orgs.a.users["read_only"])
    headers = key(orgs, ["bait:read"], role="read_only")
    listed = client.get("/api/bait/tokens", headers=headers)
    assert listed.status_code == 200 and [t["id"] for t in listed.json["items"]] == [token.id]
    body = listed.get_data(as_text=True)
    assert token.name in body and "sealed-fake-credential" not in body and token.trigger not in body
    accesses = client.get(f"/api/bait/tokens/{token.id}/accesses", headers=headers)
    assert len(accesses.json["items"]) == 3 and "sealed-fake-credential" not in accesses.get_data(as_text=True)
    assert client.get("/api/bait/tokens", headers=key(orgs, ["alerts:read"], role="read_only")).status_code == 403


def test_compliance_scores_per_category(client, orgs):
    row = assessment(orgs.a.org.id)
    db.session.commit()
    detail = client.get(f"/api/compliance/assessments/{row.id}", headers=key(orgs, ["compliance:read"])).json
    assert detail["assessment"]["score"] == 75
    assert detail["categories"] == {"Access": 75, "Ops": 50}
