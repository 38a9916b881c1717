"""Self-service password reset by e-mail, against a local SMTP server."""

from __future__ import annotations

import re
from datetime import timedelta
from email import message_from_bytes

import pytest
import sqlalchemy as sa
from itsdangerous import URLSafeTimedSerializer

from app.models import SecurityEvent, User, db
from tests.fakes import start_smtp


@pytest.fixture()
def mail(app, monkeypatch):
    sink, controller = start_smtp()
    # monkeypatch restores all three settings, so no later test inherits this sink's port.
    for name, value in (("SMTP_HOST", "127.0.0.1"), ("SMTP_PORT", sink.port), ("SMTP_SENDER", "vigil@test.example")):
        monkeypatch.setitem(app.config, name, value)
    try:
        yield sink
    finally:
        controller.stop()


def test_reset_link_by_mail_works_once(client, orgs, mail):
    user = orgs.a.users["analyst"]
    response = client.post("/auth/forgot", data={"email": user.email.upper()})
    assert response.status_code == 200 and "If an account with that address exists" in response.get_data(as_text=True)
    [envelope] = mail.envelopes
    assert envelope.rcpt_tos == [user.email]
    body = message_from_bytes(envelope.content).get_payload(decode=True).decode()
    link = re.search(r"http://\S+/auth/set-password/(\S+)", body).group(1)
    url = f"/auth/set-password/{link}"
    assert client.post(url, data={"password": "a new long passphrase", "confirm": "a new long passphrase"}
                       ).status_code == 303
    assert client.get(url).status_code == 400  # used
    assert client.login(user.email, "a new long passphrase").status_code == 303


def test_unknown_addresses_get_the_same_answer_and_no_mail(client, orgs, mail):
    known = client.post("/auth/forgot", data={"email": orgs.a.users["analyst"].email}).get_data(as_text=True)
    unknown = client.post("/auth/forgot", data={"email": "nobody@example.test"}).get_data(as_text=True)
    # The signed CSRF token carries a timestamp in seconds (itsdangerous), in hidden inputs and
    # in <body hx-headers>: two requests either side of a second boundary differ there and
    # nowhere else. Only the token's value is replaced before comparing.
    token = re.compile(r'(name="csrf_token"(?: type="hidden")? value="|"X-CSRFToken": ")[^"]+')
    strip = lambda html: token.sub(r"\1TOKEN", html)  # noqa: E731
    assert strip(known) == strip(unknown)
    assert len(mail.envelopes) == 1
    assert db.session.scalar(sa.select(sa.func.count(SecurityEvent.id))
                             .where(SecurityEvent.event_type == "password_reset_requested")) == 2


def test_reset_links_expire_sooner_than_invitations(app, client, orgs):
    from app.auth.services import make_set_password_token, user_for_set_password_token

    user = db.session.get(User, orgs.a.users["analyst"].id)
    with app.test_request_context():
        token = make_set_password_token(user, purpose="reset")
    # Re-sign the same payload 2 hours in the past: older than RESET_MINUTES (60), younger than INVITE_HOURS.
    serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="vigil.set-password")
    payload = serializer.loads(token)
    import time

    real = time.time
    try:
        time.time = lambda: real() - timedelta(hours=2).total_seconds()
        old = serializer.dumps(payload)
    finally:
        time.time = real
    with app.test_request_context():
        found, problem = user_for_set_password_token(old)
    assert found is None and "expired" in problem


def test_without_mail_settings_the_page_says_to_ask_an_admin(client, orgs):
    page = client.get("/auth/forgot").get_data(as_text=True)
    assert "not set up" in page
