"""Publishing bait to a Gist or a paste service, against local fake services: sealed keys,
the real URL recorded, and never a made-up location when nothing is configured."""

from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from app.bait import services
from app.models import BaitAccess, BaitToken, JobRun, ProviderCredential, db
from tests.conftest import run_jobs


class FakeService:
    """A loopback HTTP server answering POSTs like GitHub's gist API or Pastebin's API."""

    def __init__(self, kind: str, status: int = 201) -> None:
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                if status >= 400:
                    self.send_response(status)
                    self.end_headers()
                    return
                if kind == "gist":
                    answer = json.dumps({"html_url": "https://gist.example.test/abc123"}).encode()
                else:
                    answer = b"https://paste.example.test/Xy12Ab"
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def do_GET(self):  # noqa: N802 - an AbuseIPDB-shaped check
                outer.requests.append({"path": self.path, "headers": dict(self.headers), "body": b""})
                answer = json.dumps({"data": {"ipAddress": "81.2.69.160", "abuseConfidenceScore": 87,
                                              "totalReports": 12, "isp": "Example Hosting",
                                              "usageType": "Data Center"}}).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):  # quiet: the test reads outer.requests
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture()
def fake():
    started: list[FakeService] = []

    def start(kind: str, status: int = 201) -> FakeService:
        started.append(FakeService(kind, status))
        return started[-1]

    yield start
    for service in started:
        service.close()


@pytest.fixture()
def token(app, orgs, monkeypatch):
    monkeypatch.setitem(app.config, "BAIT_BASE_URL", "https://cdn.example.net")
    row = services.create_token(orgs.a.org.id, "aws", "deploy keys", actor_label="test")
    db.session.commit()
    return row


def test_without_a_provider_nothing_is_published_and_nothing_recorded(client, orgs, token):
    client.login(orgs.a.users["analyst"].email)
    response = client.post(f"/bait/{token.id}/seed", data={"provider": "gist"})
    assert response.status_code == 422 and "not configured" in response.get_data(as_text=True)
    db.session.refresh(token)
    assert token.seeded_at is None and token.seeded_location is None


def test_gist_publishing_records_the_returned_url(client, orgs, token, fake):
    gist = fake("gist")
    client.login(orgs.a.users["admin"].email)
    saved = client.post("/bait/providers/gist", data={"base_url": gist.url, "api_key": "ghp_realkey123"})
    assert saved.status_code == 303
    stored = db.session.scalar(sa.select(ProviderCredential).where(ProviderCredential.provider == "bait_gist"))
    assert stored.org_id == orgs.a.org.id and "ghp_realkey123" not in stored.secret_encrypted
    assert "ghp_realkey123" not in client.get("/bait/providers").get_data(as_text=True)
    assert client.post(f"/bait/{token.id}/seed", data={"provider": "gist"}).status_code == 303
    db.session.refresh(token)
    assert token.seeded_location == "https://gist.example.test/abc123" and token.seeded_at is not None
    (sent,) = gist.requests
    assert sent["path"] == "/gists" and sent["headers"]["Authorization"] == "Bearer ghp_realkey123"
    body = json.loads(sent["body"])
    assert body["public"] is False
    (content,) = [f["content"] for f in body["files"].values()]
    assert f"endpoint_url = https://cdn.example.net/c/{token.identifier}" in content


def test_paste_publishing_and_a_failing_service(client, orgs, token, fake):
    paste, broken = fake("paste", 200), fake("gist", 500)
    client.login(orgs.a.users["admin"].email)
    client.post("/bait/providers/paste", data={"base_url": paste.url, "api_key": "devkey"})
    client.post("/bait/providers/gist", data={"base_url": broken.url, "api_key": "k"})
    failed = client.post(f"/bait/{token.id}/seed", data={"provider": "gist"})
    assert failed.status_code == 422 and "answered 500" in failed.get_data(as_text=True)
    db.session.refresh(token)
    assert token.seeded_location is None
    assert client.post(f"/bait/{token.id}/seed", data={"provider": "paste"}).status_code == 303
    db.session.refresh(token)
    assert token.seeded_location == "https://paste.example.test/Xy12Ab"
    form = urllib.parse.parse_qs(paste.requests[0]["body"].decode())
    assert form["api_dev_key"] == ["devkey"] and form["api_paste_private"] == ["1"]


def test_provider_forms_validate_and_are_for_admins(client, orgs):
    client.login(orgs.a.users["admin"].email)
    assert client.post("/bait/providers/gist", data={"base_url": "ftp://x", "api_key": "k"}).status_code == 422
    assert client.post("/bait/providers/gist", data={"base_url": "https://api.github.com"}).status_code == 422
    assert client.post("/bait/providers/nope", data={"api_key": "k"}).status_code == 422
    assert db.session.scalar(sa.select(sa.func.count(ProviderCredential.id))) == 0
    other = services.create_token(orgs.b.org.id, "api", "b", actor_label="test")
    db.session.commit()
    assert client.post(f"/bait/{other.id}/seed", data={"provider": "gist"}).status_code == 404
    assert db.session.get(BaitToken, other.id).seeded_at is None


def test_ip_reputation_is_looked_up_by_a_job_when_configured(app, client, orgs, token, fake, redis_conn):
    abuse = fake("abuseipdb", 200)
    client.login(orgs.a.users["admin"].email)
    assert client.post("/bait/providers/abuseipdb", data={"base_url": abuse.url, "api_key": "abusekey"}).status_code == 303
    client.open(f"/c/{token.identifier}", method="POST", csrf=False, base_url="https://cdn.example.net", environ_base={"REMOTE_ADDR": "81.2.69.160"})
    client.open(f"/c/{token.identifier}", method="POST", csrf=False, base_url="https://cdn.example.net", environ_base={"REMOTE_ADDR": "10.0.0.8"})
    runs = db.session.scalars(sa.select(JobRun).where(JobRun.kind == "bait.reputation")).all()
    assert len(runs) == 1  # the private address is never looked up
    run_jobs(app)
    db.session.expire_all()
    public = db.session.scalar(sa.select(BaitAccess).where(BaitAccess.source_ip == "81.2.69.160"))
    assert "AbuseIPDB: confidence 87/100, 12 report(s) (Example Hosting, Data Center)" in public.notes
    (sent,) = abuse.requests
    assert sent["headers"]["Key"] == "abusekey" and "ipAddress=81.2.69.160" in sent["path"]


def test_without_a_reputation_provider_no_lookup_is_queued(client, orgs, token, redis_conn):
    client.open(f"/c/{token.identifier}", method="POST", csrf=False, base_url="https://cdn.example.net", environ_base={"REMOTE_ADDR": "81.2.69.160"})
    assert db.session.scalar(sa.select(sa.func.count(BaitAccess.id)).where(BaitAccess.bait_id == token.id)) == 1
    assert db.session.scalar(sa.select(sa.func.count(JobRun.id)).where(JobRun.kind == "bait.reputation")) == 0
