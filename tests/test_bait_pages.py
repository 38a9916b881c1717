"""Canary token pages and CLI: list, wizard, detail with alerts, sources, map and
sightings, downloads, revoke, publishing forms' neighbours, the expiry job, global search
(issue 22)."""

from __future__ import annotations

import html as html_text
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.bait import kinds, services
from app.jobs import enqueue
from app.models import Alert, BaitToken, db, utcnow
from tests.bait_support import ATTACKER, bait_notifications, configure, make, touch
from tests.conftest import run_jobs


@pytest.fixture()
def bait_config(app, monkeypatch):
    return configure(app, monkeypatch)

# 7. CLI -------------------------------------------------------------------------------------------

def test_cli_create_and_list(app, bait_config, orgs, tmp_path):
    runner = app.test_cli_runner()
    out = runner.invoke(args=["bait", "create", "--org", orgs.a.org.slug, "--type", "aws", "--name", "deploy keys",
                              "--out", str(tmp_path), "--json"])
    assert out.exit_code == 0, out.output
    created = json.loads(out.output)
    assert kinds.IDENTIFIER_RE.fullmatch(created["identifier"]) and created["type"] == "aws"
    assert created["url"].endswith(f"/c/{created['identifier']}")
    assert f"endpoint_url = {created['url']}" in Path(created["file"]).read_text()
    plain = runner.invoke(args=["bait", "create", "--org", orgs.a.org.slug, "--type", "url", "--name", "link"])
    assert plain.exit_code == 0 and "trigger    http://localhost/c/" in plain.output
    listed = json.loads(runner.invoke(args=["bait", "list", "--org", orgs.a.org.slug, "--json"]).output)
    assert {r["name"] for r in listed} == {"deploy keys", "link"}
    assert set(listed[0]) >= {"name", "identifier", "type", "status", "access_count", "threat_level"}
    assert runner.invoke(args=["bait", "create", "--org", "nope", "--type", "url", "--name", "x"]).exit_code != 0
    assert runner.invoke(args=["bait", "create", "--org", orgs.a.org.slug, "--type", "ssh", "--name", "x"]).exit_code != 0


# 8. Pages -----------------------------------------------------------------------------------------

def test_pages_list_create_detail_revoke(client, bait_config, orgs):
    client.login(orgs.a.users["analyst"].email)
    assert client.get("/bait/").status_code == 200
    wizard = client.get("/bait/new?kind=aws", headers={"HX-Request": "true"})
    assert wizard.status_code == 200 and "AWS access key" in wizard.get_data(as_text=True)
    bad = client.post("/bait/new", data={"bait_type": "aws", "name": ""})
    assert bad.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count(BaitToken.id)).where(BaitToken.org_id == orgs.a.org.id)) == 0
    created = client.post("/bait/new", data={"bait_type": "aws", "name": "deploy keys", "memo": "ci repo"})
    assert created.status_code == 303
    token = db.session.scalar(sa.select(BaitToken).where(BaitToken.org_id == orgs.a.org.id))
    page = client.get(created.headers["Location"]).get_data(as_text=True)
    assert "deploy keys" in page and "endpoint_url" in page and "ci repo" in page
    download = client.get(f"/bait/{token.id}/download")
    assert download.status_code == 200 and b"aws_access_key_id = AKIA" in download.data
    listing = client.get("/bait/").get_data(as_text=True)
    assert f'data-token="{token.id}"' in listing and "never" in listing
    assert client.post(f"/bait/{token.id}/revoke").status_code == 303
    db.session.refresh(token)
    assert token.status == "revoked"


def test_another_organizations_token_is_a_404_and_read_only_cannot_create(client, bait_config, orgs):
    token = make(orgs.b.org.id)
    client.login(orgs.a.users["admin"].email)
    assert client.get(f"/bait/{token.id}").status_code == 404
    assert client.get(f"/bait/{token.id}/download").status_code == 404
    assert client.post(f"/bait/{token.id}/revoke").status_code == 404


def test_read_only_sees_tokens_and_their_hits_but_not_the_bait_and_cannot_create_or_revoke(client, bait_config,
                                                                                          orgs):
    token = make(orgs.a.org.id, "aws", name="ci deploy keys")
    other = make(orgs.b.org.id, name="their link")
    touch(client, token)
    secret = services.secret_of(token)["aws_secret_access_key"]
    client.login(orgs.a.users["analyst"].email)
    assert secret in client.get(f"/bait/{token.id}").get_data(as_text=True)  # managers copy the bait
    client.post("/auth/logout")
    client.login(orgs.a.users["read_only"].email)
    listing = client.get("/bait/")
    assert listing.status_code == 200
    text = listing.get_data(as_text=True)
    assert f'data-token="{token.id}"' in text and "ci deploy keys" in text and "their link" not in text
    assert 'href="/bait/new"' not in text
    page = client.get(f"/bait/{token.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert token.identifier in html and token.trigger in html and "data-access=" in html and ATTACKER in html
    assert secret not in html and 'id="bait-snippet"' not in html
    assert f"/bait/{token.id}/download" not in html and f"/bait/{token.id}/revoke" not in html
    found = client.get("/search/", query_string={"q": "ci deploy"}).get_data(as_text=True)
    assert f"/bait/{token.id}" in found
    assert client.get(f"/bait/{token.id}/download").status_code == 403
    assert client.get("/bait/new").status_code == 403
    assert client.post("/bait/new", data={"bait_type": "url", "name": "x"}).status_code == 403
    assert client.post(f"/bait/{token.id}/revoke").status_code == 403
    assert client.get(f"/bait/{other.id}").status_code == 404
    db.session.refresh(token)
    assert token.status == "triggered" and db.session.scalar(
        sa.select(sa.func.count()).select_from(BaitToken).where(BaitToken.org_id == orgs.a.org.id)) == 1


def test_the_token_page_lists_its_alerts_and_resolves_them_there(client, bait_config, orgs):
    token = make(orgs.a.org.id)
    touch(client, token)
    client.login(orgs.a.users["analyst"].email)
    html = client.get(f"/bait/{token.id}").get_data(as_text=True)
    alert = db.session.scalar(sa.select(Alert).where(Alert.alert_type == "bait_triggered"))
    assert f'data-alert="{alert.id}"' in html and f"/alerts/{alert.id}/resolve" in html
    assert client.post(f"/alerts/{alert.id}/resolve", data={"note": "planted by us, test"}).status_code == 303
    db.session.refresh(alert)
    assert alert.status == "resolved"
    touch(client, token)  # within the throttle window: a new alert, opened quietly
    db.session.expire_all()
    latest = db.session.scalar(sa.select(Alert).where(Alert.alert_type == "bait_triggered").order_by(Alert.id.desc()))
    assert latest.id != alert.id and latest.notify_count == 0 and bait_notifications(orgs.a.org.id) == 1


def test_the_expiry_job_marks_tokens_expired(app, bait_config, orgs, redis_conn):
    token = make(orgs.a.org.id, expires_at=utcnow() - timedelta(seconds=1))
    live = make(orgs.a.org.id, name="live")
    assert services.has_expired_tokens()
    enqueue("bait.expire_tokens", org_id=None)
    db.session.commit()
    run_jobs(app)
    db.session.expire_all()
    assert db.session.get(BaitToken, token.id).status == "expired"
    assert db.session.get(BaitToken, live.id).status == "active"


def test_global_search_finds_tokens_by_name_or_identifier(client, bait_config, orgs):
    token = make(orgs.a.org.id, name="prod deploy keys")
    make(orgs.b.org.id, name="prod deploy keys of B")
    client.login(orgs.a.users["analyst"].email)
    for term in ("deploy", token.identifier):
        html = client.get("/search/", query_string={"q": term}).get_data(as_text=True)
        assert f"/bait/{token.id}" in html and "of B" not in html


def test_the_token_page_maps_located_sources_only(client, bait_config, orgs):
    token = make(orgs.a.org.id)
    touch(client, token)
    touch(client, token, ip="10.0.0.9")
    client.login(orgs.a.users["analyst"].email)
    html = client.get(f"/bait/{token.id}").get_data(as_text=True)
    points = json.loads(html_text.unescape(re.search(r'data-points="([^"]*)"', html).group(1)))
    assert [(p["ip"], p["hits"]) for p in points] == [(ATTACKER, 1)]
    assert "United Kingdom" in points[0]["place"] and 'id="bait-map"' in html


def test_qr_downloads_as_png_and_svg_and_the_list_filters_as_a_fragment(client, bait_config, orgs):
    token = make(orgs.a.org.id, "qr", name="server room label")
    make(orgs.a.org.id, "url", name="untouched link")
    touch(client, token)
    client.login(orgs.a.users["analyst"].email)
    png = client.get(f"/bait/{token.id}/download")
    assert png.mimetype == "image/png" and png.data.startswith(b"\x89PNG\r\n\x1a\n")
    svg = client.get(f"/bait/{token.id}/download", query_string={"format": "svg"})
    assert svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
    fragment = client.get("/bait/", query_string={"status": "triggered"}, headers={"HX-Request": "true"})
    text = fragment.get_data(as_text=True)
    assert "<html" not in text and 'id="bait-tokens"' in text
    assert "server room label" in text and "untouched link" not in text


def test_cli_prints_the_hostname_and_connection_string(app, bait_config, orgs, tmp_path):
    runner = app.test_cli_runner()
    dns = json.loads(runner.invoke(args=["bait", "create", "--org", orgs.a.org.slug, "--type", "dns", "--name", "hosts",
                                         "--json"]).output)
    assert dns["url"] == f"{dns['identifier']}.cdn-assets.example.net" and dns["file"] is None
    pg = runner.invoke(args=["bait", "create", "--org", orgs.a.org.slug, "--type", "postgres", "--name", "prod db",
                             "--out", str(tmp_path)])
    assert pg.exit_code == 0 and re.search(r"trigger    postgresql://svc_[a-z2-7]{20}:\S+@", pg.output)
