"""The API keeps its OpenAPI promises (issue 11.11): 405s name the allowed methods, every
operation documents the shared answers (400, 413, 429), an invalid `limit` is refused, the
heartbeat's enums are complete, and a bounded schemathesis run over /api/openapi.json (in
process, signed in with an API key and a device key) finds no 5xx and no answer that
contradicts the document."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings

from app.api.tokens import create_api_key
from app.apiregistry.registry import RESOURCES
from app.models import db, utcnow
from app.models.fleet import CONTAINER_STATUSES, SERVICE_STATUSES
from app.scopes import all_scopes
from tests.test_fleet import bearer, enrolled

MAX_EXAMPLES = 15  # per operation and generation mode: the whole run stays well under a minute
# Operations whose schema-valid requests may still be refused, each for a rule the document
# states in prose: positive data acceptance is not asserted there (no 5xx and conformance are).
RULES_BEYOND_THE_SCHEMA = {
    "POST /intel": "a value must be valid for its type, and allowlisted values are refused",
    "POST /agent/facts": "keys inside facts are 1-200 characters at every depth (up to 8 levels)",
    "POST /alerts/{alert_id}/acknowledge": "only an open or muted alert is acknowledged (409)",
    "POST /alerts/{alert_id}/resolve": "a resolved alert is not resolved again (409), a note is not blank",
    "POST /alerts/{alert_id}/mute": "a resolved alert is not muted (409)",
    "GET /wireless/networks": "the explorer's filter syntax (SSID and BSSID patterns, dates, ranges)",
    "GET /search": "the term has at least 2 characters once spaces are collapsed",
    "POST /incidents": "a title is not blank",
    "POST /incidents/{incident_id}/links": "the type is a linkable type and the object exists in the organization",
    "POST /incidents/{incident_id}/status": "only the page's transitions; resolving or closing needs a note",
    "POST /metrics/{metric_id}/values": "locked or live metrics refuse (409); implausible values need confirm_large",
    "POST /fleet/devices/{device_id}/commands": "the role's tier (403), an enrolled device (409), a valid hostname "
                                                "and only the type's own parameters (422)",
    "POST /wireless/imports": "the file is judged by its content: one of the importable formats (422)",
}


def test_405_names_the_allowed_methods(client):
    response = client.get("/api/agent/heartbeat")
    assert response.status_code == 405
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"POST"}
    assert response.json["error"]["code"] == "method_not_allowed"
    html = client.delete("/auth/login")
    assert html.status_code == 405 and "GET" in html.headers["Allow"]


def test_every_operation_documents_the_shared_answers(client):
    spec = client.get("/api/openapi.json").json
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert {"400", "429"} <= set(responses), (method, path)
            assert "Retry-After" in responses["429"]["headers"]
            if "requestBody" in operation:
                assert {"413", "422"} <= set(responses), (method, path)
    heartbeat = spec["components"]["schemas"]["Heartbeat"]["properties"]
    assert heartbeat["services"]["items"]["properties"]["status"]["enum"] == list(SERVICE_STATUSES)
    assert heartbeat["containers"]["items"]["properties"]["status"]["enum"] == list(CONTAINER_STATUSES)
    assert heartbeat["failed_login_count_24h"]["maximum"] == 2**31 - 1


def test_an_invalid_limit_is_refused(client, orgs):
    secret, _ = create_api_key(orgs.a.users["admin"], orgs.a.org.id, "k", ["events:read"], None)
    db.session.commit()
    for bad in ("-1", "0", "501", "ten", "9" * 40):
        response = client.get(f"/api/security-events?limit={bad}", headers=bearer(secret))
        assert response.status_code == 422, bad
        assert response.json["error"]["fields"] == {"limit": "1-500"}
    assert client.get("/api/security-events?limit=500", headers=bearer(secret)).status_code == 200
    assert client.get("/api/security-events?since_id=-1", headers=bearer(secret)).status_code == 422


@pytest.mark.postgres
def test_schemathesis_finds_no_5xx_and_no_answer_outside_the_document(app, client, orgs):
    import schemathesis
    from schemathesis.checks import not_a_server_error
    from schemathesis.config import SchemathesisConfig
    from schemathesis.generation import GenerationMode
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        positive_data_acceptance,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    user_key, _ = create_api_key(orgs.a.users["admin"], orgs.a.org.id, "fuzz", list(all_scopes()), None)
    db.session.commit()
    device_key = enrolled(client, orgs.a.org.id)["api_key"]
    # A body over an endpoint's limit is refused with 413: a rejection like the defaults' 4xx.
    # No NUL in generated strings: the document says every endpoint refuses it (400).
    config = SchemathesisConfig.from_dict({"generation": {"allow-x00": False}})
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app, config=config)
    checks = [not_a_server_error, status_code_conformance, content_type_conformance,
              response_headers_conformance, response_schema_conformance]
    app.config["RATE_LIMITS_ENABLED"] = False  # the fuzzer is one client sending hundreds of requests
    failures, tried = [], 0
    try:
        for result in schema.get_all_operations():
            operation = result.ok()
            key = device_key if operation.path.startswith("/agent/") else user_key
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                accept = mode is GenerationMode.POSITIVE and operation.label not in RULES_BEYOND_THE_SCHEMA
                strategy = operation.as_strategy(generation_mode=mode)
                if mode is GenerationMode.POSITIVE:
                    strategy = strategy.map(fit_prose_rules)
                try:
                    fuzz(strategy, client, key, checks + ([positive_data_acceptance] if accept else []))
                except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - all verdicts reported together
                    failures.append(f"{operation.label} [{mode}]: {str(exc)[:2500]}")
                tried += 1
    finally:
        app.config.pop("RATE_LIMITS_ENABLED", None)
    assert tried >= 2 * (14 + len(RESOURCES))  # every documented operation (registered too), both modes
    assert not failures, "\n\n".join(failures)


def fit_prose_rules(case):
    """The rules the document states in prose that generated data cannot know: agent
    timestamps lie within 24 hours of the server's clock (moved to now), names are unique
    within a heartbeat, a backup's command_id names a real command of the device
    (dropped), and a page cursor is one the API issued (dropped). Every other generated
    value is sent as it is."""
    if isinstance(case.query, dict):
        case.query.pop("cursor", None)
    if isinstance(case.body, dict):
        case.body.pop("command_id", None)
        if isinstance(case.body.get("started_at"), str) and isinstance(case.body.get("completed_at"), str):
            # A backup completes after it starts.
            case.body["started_at"], case.body["completed_at"] = sorted(
                (case.body["started_at"], case.body["completed_at"]), key=datetime.fromisoformat)
        for name in ("timestamp", "collected_at"):
            if name in case.body:
                case.body[name] = utcnow().isoformat()
        for name in ("services", "containers"):  # names are unique within a heartbeat (stated in prose)
            if isinstance(case.body.get(name), list):
                case.body[name] = list({item.get("name"): item for item in case.body[name]
                                        if isinstance(item, dict)}.values())
    return case


def fuzz(strategy, client, key: str, checks: list) -> None:
    """Up to MAX_EXAMPLES generated requests of one operation, each answer checked."""

    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case):
        response = case.call(session=client, headers={"Authorization": f"Bearer {key}"})
        case.validate_response(response, checks=checks)

    run()
