"""The optional AI mapping provider: per-organization configuration, the HTTP client against
a fake OpenAI-compatible server on 127.0.0.1, the job, and the log of what it said."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from app.metrics import ai, catalogs
from app.models import (
    AiChangeLog,
    AuditLog,
    JobRun,
    MetricCatalog,
    MetricCatalogFrameworkMapping,
    ProviderCredential,
    db,
)
from tests.conftest import run_jobs
from tests.tenancy import assert_other_org_cannot_reach
from tests.wireless_fakes import FakeServer, Reply


@pytest.fixture()
def fake():
    server = FakeServer().start()
    yield server
    server.stop()


def completion(suggestions, tokens: int = 321) -> Reply:
    return Reply(200, {"choices": [{"message": {"role": "assistant",
                                                "content": json.dumps({"suggestions": suggestions})}}],
                       "usage": {"total_tokens": tokens}})


def configure(client, orgs, fake, **extra):
    client.login(orgs.a.users["admin"].email)
    data = {"base_url": fake.url + "/v1", "model": "fake-model-1", "api_key": "sk-test-123"}
    data.update(extra)
    return client.post("/metrics/ai-provider", data=data)


def test_configuration_is_per_org_encrypted_audited_and_admin_only(client, orgs, fake, csf):
    assert configure(client, orgs, fake).status_code == 303
    row = db.session.scalar(sa.select(ProviderCredential).where(ProviderCredential.provider == ai.PROVIDER_KEY))
    assert row.org_id == orgs.a.org.id and "sk-test-123" not in row.secret_encrypted
    entry = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "metrics.ai_provider_set"))
    assert "sk-test" not in json.dumps(entry.new_values) and entry.new_values["model"] == "fake-model-1"
    page = client.get("/metrics/ai-provider").get_data(as_text=True)
    assert "fake-model-1" in page and "sk-test-123" not in page
    bad = configure(client, orgs, fake, base_url="ftp://x")
    assert bad.status_code == 422 and "must start with https://" in bad.get_data(as_text=True)
    assert ai.ai_config(orgs.b.org.id) is None
    client.post("/auth/logout")
    client.login(orgs.a.users["analyst"].email)
    assert client.get("/metrics/ai-provider").status_code == 403
    assert client.post("/metrics/ai-provider/clear").status_code == 403
    client.post("/auth/logout")
    client.login(orgs.a.users["admin"].email)
    assert client.post("/metrics/ai-provider/clear").status_code == 303
    assert ai.ai_config(orgs.a.org.id) is None


def test_http_provider_keeps_only_real_codes_and_clamps_confidence(app, fake, csf):
    fake.script("/v1/chat/completions", completion([
        {"code": "pr.at-01", "confidence": 0.9}, {"code": "XX.YY-99", "confidence": 1},
        {"code": "PR.AT-01", "confidence": 0.5}, {"code": "PR.AT-02", "confidence": 7}]))
    provider = ai.HttpMappingProvider(fake.url + "/v1", "sk-1", "m", catalogs.subcategory_texts(csf))
    found = provider.suggest("Phishing simulation click rate", "PR")
    assert [(s.code, s.confidence) for s in found] == [("PR.AT-01", 0.9), ("PR.AT-02", 1.0)]
    assert provider.tokens_used == 321
    seen = fake.requests[-1]
    assert seen.headers["Authorization"] == "Bearer sk-1"
    body = json.loads(seen.body)
    assert body["model"] == "m" and "Phishing simulation click rate" in body["messages"][1]["content"]
    assert "PR.AT-01" in body["messages"][0]["content"]
    fake.script("/v1/chat/completions", Reply(200, {"choices": []}))
    with pytest.raises(ai.AiProviderError):
        provider.suggest("x")
    fake.script("/v1/chat/completions", Reply(401, {"error": "bad key"}))
    with pytest.raises(ai.AiProviderError, match="HTTP 401"):
        provider.suggest("x")


def test_job_adds_ai_suggestions_next_to_the_offline_ones_and_logs_failures(app, client, orgs, fake, csf):
    configure(client, orgs, fake)
    client.post("/metrics/catalogs/default")
    catalog = db.session.scalar(sa.select(MetricCatalog))
    offline = db.session.scalar(sa.select(sa.func.count(MetricCatalogFrameworkMapping.id)))
    first = catalog.items[0]
    already = first.mappings[0].subcategory_code  # the offline matcher's best: not repeated
    fake.script("/v1/chat/completions", completion([{"code": already, "confidence": 0.9},
                                                    {"code": "GV.OV-01", "confidence": 0.6}]),
                Reply(500, {"error": "down"}), Reply(500, {"error": "down"}),
                completion([{"code": "GV.OV-01", "confidence": 0.6}]))
    assert "Ask the AI provider (fake-model-1)" in client.get(f"/metrics/catalogs/{catalog.id}/review") \
        .get_data(as_text=True)
    assert client.post(f"/metrics/catalogs/{catalog.id}/ai-suggest").status_code == 303
    run = db.session.scalar(sa.select(JobRun).where(JobRun.kind == "metrics.ai_suggest"))
    assert run.params == {"catalog_id": catalog.id} and run.org_id == orgs.a.org.id
    run_jobs(app)
    db.session.expire_all()
    run = db.session.get(JobRun, run.id)
    assert run.status == "succeeded", run.error
    assert run.result["failed"] == 1 and run.result["items"] == len(catalog.items) - 1
    ai_rows = db.session.scalars(sa.select(MetricCatalogFrameworkMapping).where(
        MetricCatalogFrameworkMapping.is_ai_suggested.is_(True))).all()
    assert {r.provider for r in ai_rows} == {"openai-compatible"}
    first_ai = [r for r in ai_rows if r.catalog_item_id == first.id]
    assert [r.subcategory_code for r in first_ai] == ["GV.OV-01"]  # the repeated code was dropped
    assert db.session.scalar(sa.select(sa.func.count(MetricCatalogFrameworkMapping.id))) == offline + len(ai_rows)
    logged = db.session.scalars(sa.select(AiChangeLog).where(AiChangeLog.source == "catalog_ai")).all()
    assert {r.action for r in logged} == {"mapping.suggested", "mapping.failed"}
    assert {(r.mode, r.ai_provider, r.ai_model) for r in logged} == {("ai", "openai-compatible", "fake-model-1")}
    assert all(r.user_id == orgs.a.users["admin"].id for r in logged)
    assert any(r.tokens_used == 321 for r in logged)
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "metric_catalog.ai_suggested"))


def test_ai_suggest_needs_a_configuration_and_is_tenant_scoped(client, orgs, fake, csf):
    client.login(orgs.b.users["analyst"].email)
    client.post("/metrics/catalogs/default")
    theirs = db.session.scalar(sa.select(MetricCatalog))
    assert client.post(f"/metrics/catalogs/{theirs.id}/ai-suggest").status_code == 409  # none configured
    client.post("/auth/logout")
    configure(client, orgs, fake)
    assert_other_org_cannot_reach(client, [("POST", f"/metrics/catalogs/{theirs.id}/ai-suggest")])
    assert db.session.scalar(sa.select(JobRun).where(JobRun.kind == "metrics.ai_suggest")) is None
