"""Notifications: the in-app bell, webhook and e-mail delivery to LOCAL servers, retries,
the disable rule, and the channel pages (validation, secrets, audit, permissions, tenancy).

Every outgoing connection goes to a server this file starts on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from datetime import timedelta
from email import message_from_bytes
from email.policy import default as email_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from app.crypto import decrypt_text
from app.jobs import enqueue
from app.jobs.schedule import start_periodic
from app.models import (
    AuditLog,
    JobRun,
    Notification,
    NotificationChannel,
    NotificationDelivery,
    db,
    utcnow,
)
from app.notifications import delivery as delivery_mod
from app.notifications import services
from tests import factories
from tests.conftest import run_jobs
from tests.fakes import SMTP_PASSWORD, free_port, start_smtp
from tests.tenancy import assert_other_org_cannot_reach

SECRET = "a-known-webhook-secret-0123456789"


# ---------------------------------------------------------------- local servers

@pytest.fixture(autouse=True)
def no_proxies(monkeypatch):
    """urllib honours *_proxy variables: make sure nothing is routed off this machine."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


class WebhookReceiver:
    """What the local HTTP server saw, and the status it answers with."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.status = 200
        self.url = ""


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        receiver: WebhookReceiver = self.server.receiver  # type: ignore[attr-defined]
        receiver.requests.append({"path": self.path, "headers": self.headers, "body": body})
        self.send_response(receiver.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:  # keep the test output quiet
        pass


@pytest.fixture()
def webhook_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    receiver = WebhookReceiver()
    server.receiver = receiver  # type: ignore[attr-defined]
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/vigil"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture()
def closed_port_url():
    """A port nothing listens on: connection refused."""
    return f"http://127.0.0.1:{free_port()}/hooks/vigil"


@pytest.fixture()
def smtp_server():
    sink, controller = start_smtp()
    try:
        yield sink
    finally:
        controller.stop()


# ---------------------------------------------------------------- helpers

def webhook_channel(org_id: int, url: str, *, secret: str | None = SECRET, min_severity: str = "warning",
                    name: str = "Ops hook") -> NotificationChannel:
    channel = services.create_channel(org_id, "webhook", name=name, min_severity=min_severity,
                                      settings={"url": url}, new_secrets={"secret": secret})
    db.session.commit()
    return channel


def email_channel(org_id: int, port: int, **settings) -> NotificationChannel:
    channel = services.create_channel(org_id, "email", name="Ops mail", min_severity="warning", settings={
        "recipients": ["soc@example.com", "oncall@example.org"], "sender": "vigil@example.com",
        "smtp_host": "127.0.0.1", "smtp_port": port, "starttls": False, "smtp_username": "mailer", **settings,
    }, new_secrets={"smtp_password": SMTP_PASSWORD})
    db.session.commit()
    return channel


def deliveries_of(channel_id: int) -> list[NotificationDelivery]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(NotificationDelivery).where(NotificationDelivery.channel_id == channel_id)
                                   .order_by(NotificationDelivery.id)))


def reload(obj):
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


def audit_rows(channel_id: int, action: str | None = None) -> list[AuditLog]:
    stmt = sa.select(AuditLog).where(AuditLog.resource_type == "notification_channel",
                                     AuditLog.resource_id == str(channel_id)).order_by(AuditLog.id)
    if action:
        stmt = stmt.where(AuditLog.action == action)
    return list(db.session.scalars(stmt))


def audit_text(rows: list[AuditLog]) -> str:
    return json.dumps([[r.old_values, r.new_values, r.details, r.error_message] for r in rows])


def stored_config_text(channel_id: int) -> str:
    """The channel's config exactly as the database holds it."""
    return db.session.scalar(sa.select(sa.cast(NotificationChannel.config, sa.Text))
                             .where(NotificationChannel.id == channel_id))


def expected_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def unread_badge(html: str) -> int:
    match = re.search(r'data-unread="(\d+)"', html)
    return int(match.group(1)) if match else 0


# ---------------------------------------------------------------- in-app notifications

def test_notify_writes_in_app_rows_for_the_orgs_active_admins_only(client, orgs):
    second_admin = factories.user(orgs.a.org.id, "admin")
    factories.user(orgs.a.org.id, "admin", status="suspended")
    rows = services.notify(orgs.a.org.id, "test.event", "Something happened", body="details", severity="warning")
    db.session.commit()
    assert sorted(r.user_id for r in rows) == sorted([orgs.a.users["admin"].id, second_admin.id])
    stored = db.session.scalars(sa.select(Notification).where(Notification.event == "test.event")).all()
    assert sorted(n.user_id for n in stored) == sorted([orgs.a.users["admin"].id, second_admin.id])
    assert all(n.org_id == orgs.a.org.id and n.read_at is None and n.severity == "warning" for n in stored)


def test_notify_never_reaches_users_of_another_org(client, orgs):
    rows = services.notify(orgs.a.org.id, "test.event", "Only for A",
                           user_ids=[orgs.a.users["analyst"].id, orgs.b.users["admin"].id])
    db.session.commit()
    assert [r.user_id for r in rows] == [orgs.a.users["analyst"].id]
    with pytest.raises(ValueError):
        services.notify(orgs.a.org.id, "test.event", "x", severity="fatal")


def test_bell_fragment_and_mark_read_touch_only_the_users_own_rows(client, orgs):
    admin, analyst = orgs.a.users["admin"], orgs.a.users["analyst"]
    mine = services.notify(orgs.a.org.id, "test.one", "One", user_ids=[admin.id])[0]
    services.notify(orgs.a.org.id, "test.two", "Two", user_ids=[admin.id])
    theirs = services.notify(orgs.a.org.id, "test.three", "Three", user_ids=[analyst.id])[0]
    db.session.commit()
    client.login(admin.email)

    bell = client.get("/notifications/bell", headers={"HX-Request": "true"})
    html = bell.get_data(as_text=True)
    assert bell.status_code == 200 and "<html" not in html
    assert unread_badge(html) == 2 and "bi-bell-fill" in html

    # Another user's notification id: nothing changes for them.
    assert client.post(f"/notifications/{theirs.id}/read").status_code == 303
    assert reload(theirs).read_at is None

    assert client.post(f"/notifications/{mine.id}/read").status_code == 303
    assert reload(mine).read_at is not None
    assert unread_badge(client.get("/notifications/bell", headers={"HX-Request": "true"}).get_data(as_text=True)) == 1

    response = client.post("/notifications/read-all", headers={"HX-Request": "true"})
    assert response.status_code == 200 and "notifications-changed" in response.headers["HX-Trigger"]
    assert "<html" not in response.get_data(as_text=True)
    assert services.unread_count(admin.id) == 0
    assert services.unread_count(analyst.id) == 1  # untouched
    after = client.get("/notifications/bell", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert unread_badge(after) == 0 and "bi-bell-fill" not in after


# ---------------------------------------------------------------- webhook delivery

def test_webhook_is_delivered_signed_over_the_exact_body(app, client, orgs, webhook_server):
    channel = webhook_channel(orgs.a.org.id, webhook_server.url)
    services.notify(orgs.a.org.id, "threat.detected", "Rogue AP near HQ", body="Seen 14 times", severity="critical",
                    link="/threats/7", payload={"bssid": "aa:bb:cc:dd:ee:ff"})
    services.notify(orgs.a.org.id, "threat.minor", "Below the channel's threshold", severity="info")
    db.session.commit()
    run_jobs(app)

    assert len(webhook_server.requests) == 1
    request = webhook_server.requests[0]
    body = request["body"]
    assert request["path"] == "/hooks/vigil"
    assert request["headers"]["X-Vigil-Signature"] == expected_signature(SECRET, body)
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"]["X-Vigil-Event"] == "threat.detected"
    [sent] = deliveries_of(channel.id)
    assert request["headers"]["X-Vigil-Delivery"] == str(sent.id)
    document = json.loads(body)
    assert document["data"]["id"] == str(sent.id) and document["data"]["type"] == "incident"
    attributes = document["data"]["attributes"]
    assert attributes["name"] == "Rogue AP near HQ" and attributes["cause"] == "Seen 14 times"
    assert attributes["event"] == "threat.detected" and attributes["severity"] == "critical"
    assert attributes["url"] == app.config["PUBLIC_BASE_URL"].rstrip("/") + "/threats/7"
    assert attributes["details"] == {"bssid": "aa:bb:cc:dd:ee:ff"}
    assert attributes["started_at"].startswith(str(sent.created_at.year))

    assert sent.status == "sent" and sent.attempts == 1 and sent.sent_at is not None
    assert sent.next_attempt_at is None and sent.last_error is None
    channel = reload(channel)
    assert channel.consecutive_failures == 0 and channel.last_success_at is not None


def test_a_tampered_body_would_not_match_the_signature(app, client, orgs, webhook_server):
    webhook_channel(orgs.a.org.id, webhook_server.url)
    services.notify(orgs.a.org.id, "threat.detected", "x", severity="warning")
    db.session.commit()
    run_jobs(app)
    request = webhook_server.requests[0]
    assert request["headers"]["X-Vigil-Signature"] != expected_signature(SECRET, request["body"] + b" ")
    assert request["headers"]["X-Vigil-Signature"] != expected_signature("another-secret-value", request["body"])


@pytest.mark.parametrize("failure", ["http_500", "closed_port"])
def test_a_failing_endpoint_leaves_the_delivery_failed_with_a_retry_time(app, client, orgs, webhook_server,
                                                                         closed_port_url, failure):
    if failure == "http_500":
        webhook_server.status = 500
        url, expected_error = webhook_server.url, "HTTP 500"
    else:
        url, expected_error = closed_port_url, "connection failed"
    channel = webhook_channel(orgs.a.org.id, url)
    services.notify(orgs.a.org.id, "threat.detected", "x", severity="critical")
    db.session.commit()
    before = utcnow()
    run_jobs(app)

    [failed] = deliveries_of(channel.id)
    assert failed.status == "failed" and failed.attempts == 1
    assert expected_error in failed.last_error
    first_wait = timedelta(seconds=delivery_mod.BACKOFF_SECONDS[0])
    assert before + first_wait - timedelta(seconds=5) <= failed.next_attempt_at <= utcnow() + first_wait
    channel = reload(channel)
    assert channel.is_enabled and channel.consecutive_failures == 1 and expected_error in channel.last_error
    if failure == "http_500":
        assert len(webhook_server.requests) == 1


def test_retry_due_resends_a_due_delivery_and_leaves_the_rest(app, client, orgs, webhook_server):
    webhook_server.status = 500
    channel = webhook_channel(orgs.a.org.id, webhook_server.url)
    services.notify(orgs.a.org.id, "threat.detected", "due one", severity="critical")
    services.notify(orgs.a.org.id, "threat.detected", "not yet due", severity="critical")
    db.session.commit()
    run_jobs(app)
    due, later = deliveries_of(channel.id)
    assert due.status == later.status == "failed"

    # Nothing due yet: the scheduler records no run at all.
    start_periodic("notifications.retry_due")
    assert db.session.scalar(sa.select(sa.func.count(JobRun.id)).where(JobRun.kind == "notifications.retry_due")) == 0

    webhook_server.status = 200
    due.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    start_periodic("notifications.retry_due")
    assert db.session.scalar(sa.select(sa.func.count(JobRun.id)).where(JobRun.kind == "notifications.retry_due")) == 1
    run_jobs(app)

    due, later = deliveries_of(channel.id)
    assert due.status == "sent" and due.attempts == 2 and due.last_error is None
    assert later.status == "failed" and later.attempts == 1
    resent = [r for r in webhook_server.requests if r["headers"]["X-Vigil-Delivery"] == str(due.id)]
    assert len(resent) == 2  # the failed attempt and the retry
    assert resent[1]["headers"]["X-Vigil-Signature"] == expected_signature(SECRET, resent[1]["body"])
    assert reload(channel).consecutive_failures == 0  # a success ends the run of failures


def test_backoff_grows_and_a_delivery_is_abandoned_after_max_attempts(app, client, orgs, webhook_server):
    webhook_server.status = 503
    channel = webhook_channel(orgs.a.org.id, webhook_server.url)
    services.notify(orgs.a.org.id, "threat.detected", "x", severity="critical")
    db.session.commit()
    run_jobs(app)
    [d] = deliveries_of(channel.id)
    d.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    enqueue("notifications.retry_due", org_id=None)
    db.session.commit()
    run_jobs(app)
    [d] = deliveries_of(channel.id)
    assert d.status == "failed" and d.attempts == 2
    second_wait = timedelta(seconds=delivery_mod.BACKOFF_SECONDS[1])
    assert utcnow() + second_wait - timedelta(seconds=10) <= d.next_attempt_at <= utcnow() + second_wait

    # The last allowed attempt fails: the delivery is given up, not rescheduled.
    channel = reload(channel)
    channel.consecutive_failures = 0  # keep the disable rule out of this test
    d.attempts = delivery_mod.MAX_ATTEMPTS - 1
    d.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    enqueue("notifications.retry_due", org_id=None)
    db.session.commit()
    run_jobs(app)
    [d] = deliveries_of(channel.id)
    assert d.status == "abandoned" and d.attempts == delivery_mod.MAX_ATTEMPTS and d.next_attempt_at is None
    assert "HTTP 503" in d.last_error


def test_a_second_job_for_the_same_attempt_does_nothing(app, client, orgs, webhook_server):
    channel = webhook_channel(orgs.a.org.id, webhook_server.url)
    services.notify(orgs.a.org.id, "threat.detected", "x", severity="critical")
    db.session.commit()
    [d] = deliveries_of(channel.id)
    enqueue("notifications.deliver", org_id=orgs.a.org.id, delivery_id=d.id, attempts=0)  # a duplicate
    db.session.commit()
    run_jobs(app)
    [d] = deliveries_of(channel.id)
    assert d.status == "sent" and d.attempts == 1
    assert len(webhook_server.requests) == 1


def test_max_failures_in_a_row_disable_the_channel_and_tell_the_admins(app, client, orgs, webhook_server):
    limit = app.config["NOTIFY_MAX_FAILURES"]
    webhook_server.status = 500
    channel = webhook_channel(orgs.a.org.id, webhook_server.url)

    # limit-1 failures, a success, limit-1 failures: never `limit` in a row.
    for round_status in (500, 200, 500):
        webhook_server.status = round_status
        for i in range(limit - 1 if round_status == 500 else 1):
            services.notify(orgs.a.org.id, "threat.detected", f"event {round_status}-{i}", severity="critical")
        db.session.commit()
        run_jobs(app)
    channel = reload(channel)
    assert channel.is_enabled and channel.consecutive_failures == limit - 1

    services.notify(orgs.a.org.id, "threat.detected", "the one too many", severity="critical")
    db.session.commit()
    run_jobs(app)

    channel = reload(channel)
    assert not channel.is_enabled and channel.consecutive_failures == limit
    assert f"{limit} failures in a row" in channel.disabled_reason and "HTTP 500" in channel.disabled_reason
    [disabled] = audit_rows(channel.id, "notification_channel.disabled")
    assert disabled.actor_type == "system" and disabled.org_id == orgs.a.org.id
    assert disabled.new_values == {"is_enabled": False}
    told = db.session.scalars(sa.select(Notification).where(Notification.event == "notification_channel.disabled")).all()
    assert [n.user_id for n in told] == [orgs.a.users["admin"].id]
    assert "Ops hook" in told[0].title and told[0].link == "/notifications/channels"
    # Nothing is left waiting on a disabled channel, and the alarm was not sent through it.
    statuses = [d.status for d in deliveries_of(channel.id)]
    assert statuses.count("sent") == 1 and statuses.count("abandoned") == 2 * limit - 1
    assert not any(d.event == "notification_channel.disabled" for d in deliveries_of(channel.id))

    # A disabled channel gets no new deliveries.
    services.notify(orgs.a.org.id, "threat.detected", "after", severity="critical")
    db.session.commit()
    assert len(deliveries_of(channel.id)) == 2 * limit


# ---------------------------------------------------------------- e-mail delivery

def test_email_is_delivered_to_a_local_smtp_server(app, client, orgs, smtp_server):
    channel = email_channel(orgs.a.org.id, smtp_server.port)
    services.notify(orgs.a.org.id, "exposure.breach", "Breach found\nfor ceo@example.com", body="3 new records",
                    severity="critical", link="/exposure/1")
    db.session.commit()
    run_jobs(app)

    [d] = deliveries_of(channel.id)
    assert d.status == "sent", d.last_error
    assert smtp_server.logins == [("mailer", SMTP_PASSWORD)]  # the decrypted password reached the server
    [envelope] = smtp_server.envelopes
    assert envelope.mail_from == "vigil@example.com"
    assert sorted(envelope.rcpt_tos) == ["oncall@example.org", "soc@example.com"]
    message = message_from_bytes(envelope.content, policy=email_policy)
    assert message["Subject"] == "[Vigil critical] Breach found for ceo@example.com"  # no header injection
    assert message["To"] == "soc@example.com, oncall@example.org"
    text = message.get_content()
    assert "3 new records" in text and app.config["PUBLIC_BASE_URL"].rstrip("/") + "/exposure/1" in text


def test_email_to_a_server_refusing_the_login_fails(app, client, orgs, smtp_server):
    channel = email_channel(orgs.a.org.id, smtp_server.port)
    channel.config = {**channel.config, "smtp_username": "intruder"}
    db.session.commit()
    services.notify(orgs.a.org.id, "exposure.breach", "x", severity="critical")
    db.session.commit()
    run_jobs(app)
    [d] = deliveries_of(channel.id)
    assert d.status == "failed" and "SMTP" in d.last_error and not smtp_server.envelopes


# ---------------------------------------------------------------- channel pages

def new_webhook_form(**overrides) -> dict:
    return {"name": "SIEM", "url": "https://hooks.example.com/vigil", "min_severity": "warning", "secret": "",
            **overrides}


def new_email_form(**overrides) -> dict:
    return {"name": "SOC mail", "recipients": "soc@example.com, oncall@example.org", "sender": "vigil@example.com",
            "smtp_host": "smtp.example.com", "smtp_port": "587", "starttls": "y", "smtp_username": "mailer",
            "smtp_password": SMTP_PASSWORD, "min_severity": "critical", **overrides}


def only_channel(org_id: int) -> NotificationChannel:
    db.session.expire_all()
    return db.session.scalars(sa.select(NotificationChannel).where(NotificationChannel.org_id == org_id)).one()


def test_creating_a_webhook_generates_a_secret_shown_once_and_stored_encrypted(client, orgs):
    client.login(orgs.a.users["admin"].email)
    response = client.post("/notifications/channels/new?kind=webhook", data=new_webhook_form())
    assert response.status_code == 303 and response.headers["Location"].endswith("/notifications/channels")

    channel = only_channel(orgs.a.org.id)
    assert channel.kind == "webhook" and channel.min_severity == "warning" and channel.is_enabled
    assert channel.config["url"] == "https://hooks.example.com/vigil"
    assert "secret" not in channel.config and channel.config["secret_enc"]
    secret = decrypt_text(channel.config["secret_enc"])
    assert len(secret) >= 32
    assert secret not in stored_config_text(channel.id)

    first = client.get("/notifications/channels").get_data(as_text=True)
    assert secret in first and "will not be shown again" in first
    second = client.get("/notifications/channels").get_data(as_text=True)
    assert secret not in second and "SIEM" in second

    edit = client.get(f"/notifications/channels/{channel.id}/edit").get_data(as_text=True)
    assert secret not in edit and channel.config["secret_enc"] not in edit
    [created] = audit_rows(channel.id, "notification_channel.created")
    assert created.new_values["url"] == "https://hooks.example.com/vigil" and created.new_values["secret_set"] is True
    assert created.user_id == orgs.a.users["admin"].id
    assert secret not in audit_text([created]) and channel.config["secret_enc"] not in audit_text([created])


def test_editing_keeps_a_blank_secret_and_replaces_a_typed_one(client, orgs):
    channel = webhook_channel(orgs.a.org.id, "https://hooks.example.com/a")
    sealed = channel.config["secret_enc"]
    client.login(orgs.a.users["admin"].email)
    page = client.get(f"/notifications/channels/{channel.id}/edit")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "https://hooks.example.com/a" in html
    assert SECRET not in html and sealed not in html

    response = client.post(f"/notifications/channels/{channel.id}/edit",
                           data=new_webhook_form(name="Ops hook", url="https://hooks.example.com/b", min_severity="critical"))
    assert response.status_code == 303
    channel = reload(channel)
    assert channel.config["url"] == "https://hooks.example.com/b" and channel.min_severity == "critical"
    assert decrypt_text(channel.config["secret_enc"]) == SECRET  # blank kept the old one
    [updated] = audit_rows(channel.id, "notification_channel.updated")
    assert updated.old_values == {"url": "https://hooks.example.com/a", "min_severity": "warning"}
    assert updated.new_values == {"url": "https://hooks.example.com/b", "min_severity": "critical"}

    new_secret = "a-brand-new-secret-value-42"
    client.post(f"/notifications/channels/{channel.id}/edit",
                data=new_webhook_form(name="Ops hook", url="https://hooks.example.com/b", min_severity="critical",
                                      secret=new_secret))
    channel = reload(channel)
    assert decrypt_text(channel.config["secret_enc"]) == new_secret
    secret_change = audit_rows(channel.id, "notification_channel.updated")[-1]
    assert secret_change.details == {"secrets_changed": ["secret"]}
    assert "New secret" not in client.get("/notifications/channels").get_data(as_text=True)

    client.post(f"/notifications/channels/{channel.id}/edit",
                data=new_webhook_form(name="Ops hook", url="https://hooks.example.com/b", min_severity="critical",
                                      regenerate_secret="y"))
    channel = reload(channel)
    regenerated = decrypt_text(channel.config["secret_enc"])
    assert regenerated not in (SECRET, new_secret)
    assert regenerated in client.get("/notifications/channels").get_data(as_text=True)  # shown once

    everything = audit_text(audit_rows(channel.id))
    for value in (SECRET, new_secret, regenerated):
        assert value not in everything
    assert "secret_enc" not in everything


def test_email_channel_password_is_encrypted_never_rendered_and_kept_when_blank(client, orgs):
    client.login(orgs.a.users["admin"].email)
    assert client.post("/notifications/channels/new?kind=email", data=new_email_form()).status_code == 303
    channel = only_channel(orgs.a.org.id)
    assert channel.config["recipients"] == ["soc@example.com", "oncall@example.org"]
    assert channel.config["smtp_port"] == 587 and channel.config["starttls"] is True
    assert "smtp_password" not in channel.config
    assert decrypt_text(channel.config["smtp_password_enc"]) == SMTP_PASSWORD
    assert SMTP_PASSWORD not in stored_config_text(channel.id)

    edit = client.get(f"/notifications/channels/{channel.id}/edit").get_data(as_text=True)
    assert SMTP_PASSWORD not in edit and channel.config["smtp_password_enc"] not in edit
    assert "soc@example.com, oncall@example.org" in edit and "A password is set" in edit
    assert SMTP_PASSWORD not in client.get("/notifications/channels").get_data(as_text=True)

    response = client.post(f"/notifications/channels/{channel.id}/edit",
                           data=new_email_form(smtp_password="", starttls="", smtp_port="2525"))
    assert response.status_code == 303
    channel = reload(channel)
    assert decrypt_text(channel.config["smtp_password_enc"]) == SMTP_PASSWORD
    assert channel.config["starttls"] is False and channel.config["smtp_port"] == 2525

    # No username: the password goes too.
    client.post(f"/notifications/channels/{channel.id}/edit",
                data=new_email_form(smtp_password="", smtp_username=""))
    channel = reload(channel)
    assert "smtp_password_enc" not in channel.config and channel.config["smtp_username"] is None
    assert SMTP_PASSWORD not in audit_text(audit_rows(channel.id))


@pytest.mark.parametrize(("kind", "data", "messages"), [
    ("webhook", new_webhook_form(url="ftp://files.example.com/x"), ["Use an http:// or https:// URL."]),
    ("webhook", new_webhook_form(url="https://"), ["The URL needs a host name"]),
    ("webhook", new_webhook_form(url="https://user:pw@hooks.example.com/"), ["Put no credentials in the URL"]),
    ("webhook", new_webhook_form(name="", secret="short"), ["This field is required.", "between 16 and 200 characters"]),
    ("webhook", new_webhook_form(min_severity="loud"), ["Not a valid choice."]),
    ("email", new_email_form(recipients="soc@example.com, not-an-address"), ["&#39;not-an-address&#39; is not a valid e-mail address"]),
    ("email", new_email_form(smtp_port="70000"), ["Use a port from 1 to 65535."]),
    ("email", new_email_form(smtp_port="0", sender="nobody"), ["Use a port from 1 to 65535.", "Invalid email address."]),
    ("email", new_email_form(smtp_host="bad host!"), ["Give a host name or an IP address"]),
    ("email", new_email_form(smtp_username="", smtp_password="orphan"), ["A password needs a username."]),
])
def test_invalid_channel_forms_come_back_422_with_messages_and_save_nothing(client, orgs, kind, data, messages):
    client.login(orgs.a.users["admin"].email)
    response = client.post(f"/notifications/channels/new?kind={kind}", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    for message in messages:
        assert message in html
    assert 'aria-invalid="true"' in html
    assert db.session.scalar(sa.select(sa.func.count(NotificationChannel.id))
                             .where(NotificationChannel.org_id == orgs.a.org.id)) == 0
    if "smtp_password" in data and data["smtp_password"]:
        assert data["smtp_password"] not in html  # not echoed back into the form


def test_an_invalid_htmx_post_gets_only_the_form_fragment(client, orgs):
    client.login(orgs.a.users["admin"].email)
    response = client.post("/notifications/channels/new?kind=webhook", data=new_webhook_form(url="nope"),
                           headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" not in html and "<form" in html
    assert "Use an http:// or https:// URL." in html
    ok = client.post("/notifications/channels/new?kind=webhook", data=new_webhook_form(),
                     headers={"HX-Request": "true"})
    assert ok.status_code == 204 and ok.headers["HX-Redirect"].endswith("/notifications/channels")


def test_unknown_kind_is_404(client, orgs):
    client.login(orgs.a.users["admin"].email)
    assert client.get("/notifications/channels/new?kind=pager").status_code == 404


def test_deleting_a_channel_removes_it_and_its_deliveries_and_is_audited(client, orgs):
    channel = webhook_channel(orgs.a.org.id, "https://hooks.example.com/a")
    services.notify(orgs.a.org.id, "threat.detected", "x", severity="critical")
    db.session.commit()
    channel_id = channel.id
    client.login(orgs.a.users["admin"].email)
    response = client.post(f"/notifications/channels/{channel_id}/delete")
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(NotificationChannel, channel_id) is None
    assert deliveries_of(channel_id) == []
    [deleted] = audit_rows(channel_id, "notification_channel.deleted")
    assert deleted.old_values["name"] == "Ops hook" and deleted.old_values["secret_set"] is True
    assert SECRET not in audit_text([deleted]) and "secret_enc" not in audit_text([deleted])


def test_enable_puts_a_disabled_channel_back_with_a_clean_count(client, orgs):
    channel = webhook_channel(orgs.a.org.id, "https://hooks.example.com/a")
    channel.is_enabled, channel.consecutive_failures, channel.disabled_reason = False, 5, "broken"
    db.session.commit()
    client.login(orgs.a.users["admin"].email)
    listing = client.get("/notifications/channels").get_data(as_text=True)
    assert f"/notifications/channels/{channel.id}/enable" in listing and "broken" in listing
    assert client.post(f"/notifications/channels/{channel.id}/enable").status_code == 303
    channel = reload(channel)
    assert channel.is_enabled and channel.consecutive_failures == 0 and channel.disabled_reason is None
    [enabled] = audit_rows(channel.id, "notification_channel.enabled")
    assert enabled.old_values["consecutive_failures"] == 5 and enabled.new_values["is_enabled"] is True
    assert f"/notifications/channels/{channel.id}/enable" not in client.get("/notifications/channels").get_data(as_text=True)


def test_test_button_sends_now_and_shows_the_outcome(app, client, orgs, webhook_server, closed_port_url):
    good = webhook_channel(orgs.a.org.id, webhook_server.url, name="Good hook")
    bad = webhook_channel(orgs.a.org.id, closed_port_url, name="Bad hook")
    client.login(orgs.a.users["admin"].email)

    response = client.post(f"/notifications/channels/{good.id}/test")
    assert response.status_code == 303
    [request] = webhook_server.requests  # sent synchronously, no worker involved
    assert request["headers"]["X-Vigil-Event"] == "notification.test"
    assert request["headers"]["X-Vigil-Signature"] == expected_signature(SECRET, request["body"])
    assert "Test notification sent to &#39;Good hook&#39;" in client.get("/notifications/channels").get_data(as_text=True)

    client.post(f"/notifications/channels/{bad.id}/test")
    page = client.get("/notifications/channels").get_data(as_text=True)
    assert "Test notification to &#39;Bad hook&#39; failed: connection failed" in page
    assert reload(bad).consecutive_failures == 0 and reload(bad).is_enabled  # tests do not count
    assert [r.result for r in audit_rows(good.id, "notification_channel.tested")] == ["success"]
    [failed] = audit_rows(bad.id, "notification_channel.tested")
    assert failed.result == "failure" and "connection failed" in failed.error_message
    assert db.session.scalar(sa.select(sa.func.count(NotificationDelivery.id))) == 0


def test_deliveries_page_shows_status_attempts_and_errors_paginated(client, orgs):
    channel = webhook_channel(orgs.a.org.id, "https://hooks.example.com/a")
    other = webhook_channel(orgs.b.org.id, "https://hooks.example.com/b", name="B hook")
    for i in range(55):
        db.session.add(NotificationDelivery(org_id=orgs.a.org.id, channel_id=channel.id, event=f"ev.{i}",
                                            payload={"title": f"title {i}"}, status="sent", attempts=1))
    db.session.add(NotificationDelivery(org_id=orgs.a.org.id, channel_id=channel.id, event="ev.failed",
                                        payload={}, status="failed", attempts=3, last_error="HTTP 502",
                                        next_attempt_at=utcnow() + timedelta(minutes=10)))
    db.session.add(NotificationDelivery(org_id=orgs.b.org.id, channel_id=other.id, event="ev.other-org",
                                        payload={}, status="sent", attempts=1))
    db.session.commit()
    client.login(orgs.a.users["admin"].email)

    first = client.get("/notifications/deliveries").get_data(as_text=True)
    assert first.count('data-status="') == 50 and "Page 1 of 2 (56)" in first
    assert "ev.failed" in first and "HTTP 502" in first and "ev.other-org" not in first
    second = client.get("/notifications/deliveries?page=2").get_data(as_text=True)
    assert second.count('data-status="') == 6
    failed = client.get("/notifications/deliveries?status=failed", headers={"HX-Request": "true"})
    html = failed.get_data(as_text=True)
    assert failed.status_code == 200 and "<html" not in html
    assert html.count('data-status="failed"') == 1 and "ev.0<" not in html
    assert client.get("/notifications/deliveries?status=bogus").status_code == 400
    assert client.get(f"/notifications/deliveries?channel={channel.id}").status_code == 200


def test_analysts_and_other_roles_are_refused_channel_pages(client, orgs):
    channel = webhook_channel(orgs.a.org.id, "https://hooks.example.com/a")
    for role in ("analyst", "operator", "read_only"):
        client.login(orgs.a.users[role].email)
        for method, url in [
            ("GET", "/notifications/channels"), ("GET", "/notifications/channels/new?kind=webhook"),
            ("POST", "/notifications/channels/new?kind=webhook"), ("GET", f"/notifications/channels/{channel.id}/edit"),
            ("POST", f"/notifications/channels/{channel.id}/edit"), ("POST", f"/notifications/channels/{channel.id}/delete"),
            ("POST", f"/notifications/channels/{channel.id}/test"), ("POST", f"/notifications/channels/{channel.id}/enable"),
            ("GET", "/notifications/deliveries"),
        ]:
            data = new_webhook_form() if method == "POST" else None
            assert client.open(url, method=method, data=data).status_code == 403, f"{role} {method} {url}"
        client.post("/auth/logout")
    assert reload(channel) is not None and len(audit_rows(channel.id)) == 1  # only the creation


def test_admins_cannot_reach_another_orgs_channels(client, orgs):
    theirs = webhook_channel(orgs.b.org.id, "https://hooks.example.com/b", name="B secret hook")
    client.login(orgs.a.users["admin"].email)
    assert_other_org_cannot_reach(client, [
        ("GET", f"/notifications/channels/{theirs.id}/edit"),
        ("POST", f"/notifications/channels/{theirs.id}/edit"),
        ("POST", f"/notifications/channels/{theirs.id}/delete"),
        ("POST", f"/notifications/channels/{theirs.id}/test"),
        ("POST", f"/notifications/channels/{theirs.id}/enable"),
        ("GET", f"/notifications/deliveries?channel={theirs.id}"),
    ], data=new_webhook_form(name="hijacked"))
    assert "B secret hook" not in client.get("/notifications/channels").get_data(as_text=True)
    theirs = reload(theirs)
    assert theirs.name == "B secret hook" and theirs.config["url"] == "https://hooks.example.com/b"
    assert len(audit_rows(theirs.id)) == 1


def test_channel_pages_have_no_inline_script_or_style(client, orgs):
    channel = webhook_channel(orgs.a.org.id, "https://hooks.example.com/a")
    client.login(orgs.a.users["admin"].email)
    for url in ("/notifications/channels", "/notifications/channels/new?kind=webhook",
                "/notifications/channels/new?kind=email", f"/notifications/channels/{channel.id}/edit",
                "/notifications/deliveries"):
        response = client.get(url)
        html = response.get_data(as_text=True)
        assert response.status_code == 200, url
        assert "style=" not in html and not re.search(r"<script(?![^>]*\bsrc=)", html), url


def test_webhooks_to_private_addresses_are_refused_unless_allowed(app, db_session):
    from app.notifications.delivery import DeliveryFailed, Outgoing, send_webhook
    from app.outbound import OutboundRefused, check_host

    original = app.config["OUTBOUND_ALLOW"]
    app.config["OUTBOUND_ALLOW"] = ""
    try:
        with app.app_context():
            for host in ("127.0.0.1", "10.1.2.3", "169.254.169.254", "::1"):
                with pytest.raises(OutboundRefused, match="private or reserved"):
                    check_host(host, 80)
            from app.models import utcnow

            message = Outgoing(kind="webhook", settings={"url": "http://169.254.169.254/latest"}, delivery_id="1",
                               event="test", created_at=utcnow(), payload={"title": "x"})
            with pytest.raises(DeliveryFailed, match="refused"):
                send_webhook(message)
        app.config["OUTBOUND_ALLOW"] = "127.0.0.0/8"
        with app.app_context():
            check_host("127.0.0.1", 80)  # allowed explicitly
    finally:
        app.config["OUTBOUND_ALLOW"] = original
