"""Sending e-mail over SMTP: the one transport for notification channels and for Vigil's
own mail (password reset), which uses the VIGIL_SMTP_* settings."""

from __future__ import annotations

import ipaddress
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import urlsplit

from flask import current_app


class MailError(Exception):
    """The message could not be handed to the SMTP server."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    sender: str = "vigil@localhost"


def ehlo_name() -> str:
    """Greet SMTP servers as Vigil's public host (not socket.getfqdn(): a DNS lookup per mail)."""
    host = urlsplit(current_app.config["PUBLIC_BASE_URL"]).hostname or "localhost"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    return f"[IPv6:{ip}]" if ip.version == 6 else f"[{ip}]"  # address literals, as RFC 5321 writes them


def one_line(text: str) -> str:
    """Header-safe: a title with line breaks must not end or inject e-mail headers."""
    return " ".join(str(text).split())


def send(settings: SmtpSettings, msg: EmailMessage) -> None:
    try:
        with smtplib.SMTP(settings.host, settings.port, local_hostname=ehlo_name(),
                          timeout=current_app.config["SMTP_TIMEOUT_SECONDS"]) as smtp:
            if settings.starttls:
                # The default context verifies the server's certificate and name.
                smtp.starttls(context=ssl.create_default_context())
            if settings.username:
                smtp.login(settings.username, settings.password or "")
            smtp.send_message(msg)
    except (smtplib.SMTPException, OSError, ValueError) as exc:
        raise MailError(f"SMTP: {type(exc).__name__}: {exc}") from exc


def system_settings() -> SmtpSettings | None:
    """Vigil's own outgoing mail, or None when VIGIL_SMTP_HOST is not set."""
    cfg = current_app.config
    if not cfg.get("SMTP_HOST"):
        return None
    return SmtpSettings(cfg["SMTP_HOST"], cfg["SMTP_PORT"], cfg["SMTP_STARTTLS"], cfg.get("SMTP_USERNAME"),
                        cfg.get("SMTP_PASSWORD"), cfg["SMTP_SENDER"])


def send_system_mail(to: str, subject: str, text: str) -> None:
    settings = system_settings()
    if settings is None:
        raise MailError("Vigil's own e-mail is not configured (VIGIL_SMTP_HOST)")
    msg = EmailMessage()
    msg["Subject"] = one_line(subject)[:250]
    msg["From"] = settings.sender
    msg["To"] = to
    msg.set_content(text)
    send(settings, msg)
