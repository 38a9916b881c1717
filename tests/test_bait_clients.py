"""Each canary-token kind fired by the client an intruder would really use, all on loopback:
requests and urllib against the honeypot served by a real HTTP server, boto3 reading the
generated AWS config, the .docx's remote image relationship, dnspython against
`vigil bait dns-server`'s resolver and psycopg against `vigil bait pg-listener`'s server."""

from __future__ import annotations

import io
import re
import threading
import urllib.request
import zipfile

import boto3
import dns.message
import dns.query
import dns.rcode
import psycopg
import pytest
import requests
import sqlalchemy as sa
import zxingcpp
from botocore.exceptions import ClientError
from PIL import Image
from werkzeug.serving import make_server

from app.bait import artifacts, dns_server, kinds, pg_listener, services
from app.models import BaitAccess, BaitToken, db


@pytest.fixture()
def honeypot_url(app, db_session, redis_conn, monkeypatch):
    """The app served by a real HTTP server on a free loopback port; token URLs point at it."""
    server = make_server("127.0.0.1", 0, app)
    base = f"http://127.0.0.1:{server.server_port}"
    monkeypatch.setitem(app.config, "BAIT_BASE_URL", base)
    monkeypatch.setitem(app.config, "BAIT_DNS_ZONE", "cdn-assets.example.net")
    monkeypatch.setitem(app.config, "BAIT_PG_HOST", "127.0.0.1")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base
    server.shutdown()
    thread.join()


CAMERA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/17.5 Mobile/15E148 Safari/604.1")


def make(org_id: int, kind: str) -> BaitToken:
    token = services.create_token(org_id, kind, f"{kind} bait", actor_label="test")
    db.session.commit()
    return token


def hits(token: BaitToken) -> list[BaitAccess]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(BaitAccess).where(BaitAccess.bait_id == token.id).order_by(BaitAccess.id)))


def test_requests_fires_the_web_bug(honeypot_url, orgs):
    token = make(orgs.a.org.id, "url")
    response = requests.get(artifacts.snippet(token, {}), timeout=10)
    assert response.status_code == 200 and "vigil" not in response.text.lower()
    (hit,) = hits(token)
    assert hit.source_ip == "127.0.0.1" and hit.user_agent.startswith("python-requests/")
    assert (hit.attribution_type, hit.evidence_strength) == ("tool", "moderate")


def test_a_qr_reader_decodes_the_png_and_its_url_fires_the_token(honeypot_url, orgs):
    """What a phone's camera does: read the printed code, open its URL (zxing-cpp decodes)."""
    token = make(orgs.a.org.id, "qr")
    name, media, content = artifacts.artifact(token, {})
    assert media == "image/png" and name.endswith(".png")
    (code,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(content)))
    assert code.format == zxingcpp.BarcodeFormat.QRCode and code.valid
    assert code.text == kinds.token_url(token.identifier) and code.text.startswith(f"{honeypot_url}/c/")
    assert requests.get(code.text, headers={"User-Agent": CAMERA}, timeout=10).status_code == 200
    (hit,) = hits(token)
    assert hit.user_agent == CAMERA and token.identifier in code.text


def test_urllib_fetches_the_docx_remote_image_relationship(honeypot_url, orgs):
    token = make(orgs.a.org.id, "docx")
    _name, media, content = artifacts.artifact(token, {})
    assert media.endswith("wordprocessingml.document")
    rels = zipfile.ZipFile(io.BytesIO(content)).read("word/_rels/document.xml.rels").decode()
    (url,) = re.findall(r'Target="([^"]+)" TargetMode="External"', rels)
    assert url.startswith(honeypot_url)
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.headers["Content-Type"] == "image/gif" and response.read().startswith(b"GIF89a")
    (hit,) = hits(token)
    assert hit.request_type == "image" and hit.user_agent.startswith("Python-urllib/")


def test_urllib_follows_the_pdf_and_html_links(honeypot_url, orgs):
    for kind in ("pdf", "html"):
        token = make(orgs.a.org.id, kind)
        content = artifacts.artifact(token, {})[2].decode("latin-1")
        url = re.search(r"(http://127\.0\.0\.1:\d+/c/[a-z2-7]{20})", content).group(1)
        urllib.request.urlopen(url, timeout=10).close()
        assert len(hits(token)) == 1


def test_boto3_reading_the_generated_config_fires_the_aws_key(honeypot_url, orgs, tmp_path, monkeypatch):
    token = make(orgs.a.org.id, "aws")
    config = tmp_path / "config"
    config.write_text(artifacts.aws_config(token, services.secret_of(token)))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    sts = boto3.session.Session().client("sts")
    with pytest.raises(ClientError) as caught:
        sts.get_caller_identity()
    assert caught.value.response["Error"]["Code"] == "InvalidClientTokenId"
    recorded = hits(token)
    assert recorded and all(h.request_type == "aws" for h in recorded)
    assert recorded[0].user_agent.startswith("Boto3/") and recorded[0].attribution_type == "tool"
    assert "GetCallerIdentity" in recorded[0].request_body
    assert services.secret_of(token)["aws_secret_access_key"] not in str(recorded[0].request_headers)


def test_dnspython_query_fires_the_dns_token(honeypot_url, app, orgs):
    token = make(orgs.a.org.id, "dns")
    server = dns_server.start(app, "127.0.0.1", 0, "cdn-assets.example.net", answer="192.0.2.10")
    port = server.server.server_address[1]
    try:
        reply = dns.query.udp(dns.message.make_query(f"ping.{token.trigger}", "A"), "127.0.0.1", port=port,
                              timeout=5)
        assert reply.rcode() == dns.rcode.NOERROR and reply.answer[0][0].address == "192.0.2.10"
        unknown = dns.query.udp(dns.message.make_query("nothing.cdn-assets.example.net", "A"), "127.0.0.1",
                                port=port, timeout=5)
        assert unknown.rcode() == dns.rcode.NXDOMAIN
        outside = dns.query.udp(dns.message.make_query("example.org", "A"), "127.0.0.1", port=port, timeout=5)
        assert outside.rcode() == dns.rcode.REFUSED
    finally:
        dns_server.stop(server)
    (hit,) = hits(token)
    assert hit.request_type == "dns" and hit.request_headers["qname"] == f"ping.{token.trigger}"
    assert services.probe_count() == 1


def test_psycopg_with_the_bait_credentials_is_refused_and_logged(honeypot_url, app, orgs):
    token = make(orgs.a.org.id, "postgres")
    server = pg_listener.start(app, "127.0.0.1", 0)
    port = server.server_address[1]
    secret = services.secret_of(token)
    try:
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(host="127.0.0.1", port=port, user=secret["user"], password=secret["password"],
                            dbname=secret["database"], connect_timeout=5, application_name="psql")
    finally:
        server.shutdown()
        server.server_close()
    recorded = hits(token)
    assert recorded, "no hit logged"
    hit = recorded[0]
    assert hit.request_type == "postgres" and hit.request_headers["database"] == "billing_prod"
    assert hit.request_headers["user"] == secret["user"] and "password is the bait" in hit.notes
    assert secret["password"] not in str(hit.request_headers) + (hit.notes or "")


def test_requests_with_the_env_tokens_is_refused_like_each_api(honeypot_url, orgs):
    token = make(orgs.a.org.id, "api")
    env = dict(line.split("=", 1) for line in artifacts.dotenv(token, services.secret_of(token)).splitlines()
               if "=" in line and not line.startswith("#"))
    github = requests.get(env["GITHUB_API_URL"] + "/user", headers={"Authorization": f"token {env['GITHUB_TOKEN']}"},
                          timeout=10)
    assert github.status_code == 401 and github.json()["message"] == "Bad credentials"
    stripe = requests.post(env["STRIPE_API_BASE"] + "/v1/charges", auth=(env["STRIPE_SECRET_KEY"], ""),
                           data={"amount": 100}, timeout=10)
    assert stripe.status_code == 401 and stripe.json()["error"]["type"] == "invalid_request_error"
    slack = requests.post(env["SLACK_API_URL"] + "/auth.test",
                          headers={"Authorization": f"Bearer {env['SLACK_BOT_TOKEN']}"}, timeout=10)
    assert slack.json() == {"ok": False, "error": "invalid_auth"}
    recorded = hits(token)
    assert [h.request_type for h in recorded] == ["api"] * 3
    assert all(env["GITHUB_TOKEN"] not in str(h.request_headers) for h in recorded)
    assert recorded[1].request_body == "amount=100"


def test_requests_against_the_kubeconfig_server_gets_a_kubernetes_401(honeypot_url, orgs):
    token = make(orgs.a.org.id, "kubeconfig")
    text = artifacts.kubeconfig(token, services.secret_of(token))
    server = re.search(r"server: (\S+)", text).group(1)
    bearer = re.search(r"token: (\S+)", text).group(1)
    response = requests.get(server + "/api/v1/namespaces/default/secrets",
                            headers={"Authorization": f"Bearer {bearer}"}, timeout=10)
    assert response.status_code == 401 and response.json()["kind"] == "Status"
    (hit,) = hits(token)
    assert hit.request_type == "kubernetes" and "GET /api/v1/namespaces/default/secrets" in hit.notes


def test_an_unknown_postgres_user_is_refused_the_same_way_and_counted_as_a_probe(honeypot_url, app, orgs):
    token = make(orgs.a.org.id, "postgres")
    server = pg_listener.start(app, "127.0.0.1", 0)
    try:
        with pytest.raises(psycopg.OperationalError, match='password authentication failed for user "postgres"'):
            psycopg.connect(host="127.0.0.1", port=server.server_address[1], user="postgres", password="postgres",
                            dbname="postgres", connect_timeout=5)
    finally:
        server.shutdown()
        server.server_close()
    assert hits(token) == [] and services.probe_count() == 1
