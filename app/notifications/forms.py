"""Channel forms: one per kind, sharing name and minimum severity.

Secret fields are PasswordFields, which never render a value back: on edit a blank one
keeps the stored secret.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from app.forms import options
from app.models.notifications import SEVERITIES
from app.notifications.formats import WEBHOOK_FORMATS
from app.notifications.services import SEVERITY_LABELS

MAX_RECIPIENTS = 50
HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"
HOSTNAME = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$")


def is_host(value: str) -> bool:
    """A DNS host name or an IP address (IPv6 with or without brackets)."""
    try:
        ipaddress.ip_address(value.strip("[]"))
        return True
    except ValueError:
        return bool(HOSTNAME.match(value))


def split_recipients(raw: str) -> list[str]:
    """Comma-, semicolon- or newline-separated addresses, normalised; ValueError names a bad one."""
    addresses: list[str] = []
    for part in re.split(r"[,;\n]", raw or ""):
        part = part.strip()
        if not part:
            continue
        try:
            normalized = validate_email(part, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise ValueError(f"'{part}' is not a valid e-mail address: {exc}") from exc
        if normalized not in addresses:
            addresses.append(normalized)
    return addresses


class ChannelForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=100)])
    min_severity = SelectField(
        "Minimum severity",
        choices=options((s, SEVERITY_LABELS[s]) for s in SEVERITIES),
        default="warning",
        validators=[DataRequired()],
        description="Events below this severity are not sent to this channel.",
    )

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.editing = editing

    def settings(self) -> dict[str, Any]:
        """The kind's plain (non-secret) settings, as stored in channel.config."""
        raise NotImplementedError

    def new_secrets(self) -> dict[str, str | None]:
        """Secrets to store: a value replaces, None keeps, "" removes."""
        raise NotImplementedError


class WebhookChannelForm(ChannelForm):
    url = StringField("URL", validators=[DataRequired(), Length(max=500)],
                      description="Vigil POSTs JSON here (http or https).")
    secret = PasswordField(
        "Signing secret", validators=[Optional(), Length(min=16, max=200)],
        description="Receivers check the X-Vigil-Signature header (HMAC-SHA256 of the body) with it. "
                    "Leave blank to have one generated (shown once).",
    )
    regenerate_secret = BooleanField("Generate a new signing secret (shown once)")
    format = SelectField("Format", choices=options(WEBHOOK_FORMATS.items()), default="vigil",
                         validators=[DataRequired()],
                         description="Vigil's JSON document, or a Slack or Microsoft Teams incoming webhook's message.")

    def validate_url(self, field: StringField) -> None:
        value = (field.data or "").strip()
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError as exc:
            raise ValidationError("This is not a valid URL.") from exc
        if parts.scheme not in ("http", "https"):
            raise ValidationError("Use an http:// or https:// URL.")
        if not parts.hostname or not is_host(parts.hostname):
            raise ValidationError("The URL needs a host name, e.g. https://hooks.example.com/vigil.")
        if parts.username or parts.password:
            raise ValidationError("Put no credentials in the URL; receivers authenticate with the signing secret.")
        field.data = value

    def settings(self) -> dict[str, Any]:
        # Vigil's own format is the absence of one, so channels stored before formats existed are unchanged.
        return {"url": self.url.data, **({"format": self.format.data} if self.format.data != "vigil" else {})}

    def new_secrets(self) -> dict[str, str | None]:
        # The view generates one when needed (blank on create, or regenerate asked).
        return {"secret": self.secret.data or None}

    def wants_generated_secret(self) -> bool:
        return not self.secret.data and (not self.editing or self.regenerate_secret.data)


class EmailChannelForm(ChannelForm):
    recipients = TextAreaField(
        "Recipients", validators=[DataRequired(), Length(max=5000)],
        description="E-mail addresses separated by commas.", render_kw={"rows": 2},
    )
    sender = StringField("Sender", validators=[DataRequired(), Email(), Length(max=255)],
                         description="The From address, e.g. vigil@example.com.")
    smtp_host = StringField("SMTP host", validators=[DataRequired(), Length(max=255)])
    smtp_port = IntegerField("SMTP port", default=587,
                             validators=[InputRequired(), NumberRange(min=1, max=65535, message="Use a port from 1 to 65535.")])
    starttls = BooleanField("Use STARTTLS", default=True)
    smtp_username = StringField("SMTP username", validators=[Optional(), Length(max=255)])
    smtp_password = PasswordField("SMTP password", validators=[Optional(), Length(max=255)])

    def validate_recipients(self, field: TextAreaField) -> None:
        try:
            addresses = split_recipients(field.data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc
        if not addresses:
            raise ValidationError("Give at least one e-mail address.")
        if len(addresses) > MAX_RECIPIENTS:
            raise ValidationError(f"At most {MAX_RECIPIENTS} recipients.")
        self.recipient_list = addresses

    def validate_smtp_host(self, field: StringField) -> None:
        field.data = (field.data or "").strip()
        if not is_host(field.data):
            raise ValidationError("Give a host name or an IP address, e.g. smtp.example.com.")

    def validate_smtp_password(self, field: PasswordField) -> None:
        if field.data and not (self.smtp_username.data or "").strip():
            raise ValidationError("A password needs a username.")

    def settings(self) -> dict[str, Any]:
        return {
            "recipients": self.recipient_list,
            "sender": self.sender.data.strip(),
            "smtp_host": self.smtp_host.data,
            "smtp_port": self.smtp_port.data,
            "starttls": bool(self.starttls.data),
            "smtp_username": (self.smtp_username.data or "").strip() or None,
        }

    def new_secrets(self) -> dict[str, str | None]:
        if not (self.smtp_username.data or "").strip():
            return {"smtp_password": ""}  # no username: no password is kept either
        return {"smtp_password": self.smtp_password.data or None}


FORMS: dict[str, type[ChannelForm]] = {"webhook": WebhookChannelForm, "email": EmailChannelForm}


def form_data(channel: Any) -> dict[str, Any]:
    """A stored channel as the initial data of its edit form (never its secrets)."""
    cfg = channel.config or {}
    data: dict[str, Any] = {"name": channel.name, "min_severity": channel.min_severity}
    if channel.kind == "webhook":
        data.update(url=cfg.get("url", ""), format=cfg.get("format", "vigil"))
    else:
        data.update(
            recipients=", ".join(cfg.get("recipients") or []), sender=cfg.get("sender", ""),
            smtp_host=cfg.get("smtp_host", ""), smtp_port=cfg.get("smtp_port", 587),
            starttls=bool(cfg.get("starttls")), smtp_username=cfg.get("smtp_username") or "",
        )
    return data


class RouteForm(FlaskForm):
    """A routing rule: which sources at which severity go to which channel."""

    channel_id = SelectField("Channel", validators=[DataRequired(message="Choose a channel.")])
    domains = SelectMultipleField("Domains", validators=[Optional()],
                                  description="Leave empty for every domain.")
    min_severity = SelectField("At or above", choices=options((s, SEVERITY_LABELS[s]) for s in SEVERITIES),
                               default="warning", validators=[DataRequired()])
    is_enabled = BooleanField("Enabled", default=True)

    def __init__(self, *args: Any, channels: list[Any], sources: list[tuple[str, str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.channel_id.choices = options([("", "Choose..."), *((str(c.id), c.name) for c in channels)])
        self.domains.choices = options(sources)


class PolicyForm(FlaskForm):
    """Quiet hours and the daily digest, in the organization's time zone."""

    timezone = StringField("Time zone", default="UTC", validators=[DataRequired(), Length(max=64)],
                           description="An IANA name, e.g. Europe/Berlin or Australia/Perth.")
    quiet_start = StringField("Quiet from", validators=[Optional(), Regexp(HHMM, message="Use HH:MM, e.g. 22:00.")])
    quiet_end = StringField("Quiet until", validators=[Optional(), Regexp(HHMM, message="Use HH:MM, e.g. 07:00.")])
    quiet_allows_critical = BooleanField("Critical events still go out during quiet hours", default=True)
    digest_enabled = BooleanField("E-mail a daily digest of open alerts (to the e-mail channels)")
    digest_hour = IntegerField("Digest at (hour, local)", default=8,
                               validators=[InputRequired(), NumberRange(0, 23, message="An hour from 0 to 23.")])

    def validate_timezone(self, field: StringField) -> None:
        try:
            ZoneInfo((field.data or "").strip())
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValidationError("Unknown time zone; use an IANA name such as Europe/Berlin.") from exc
        field.data = field.data.strip()

    def validate(self, extra_validators: Any = None) -> bool:
        # The pair rule runs here: Optional() on an empty end would skip a field validator.
        ok = super().validate(extra_validators)
        start, end = (self.quiet_start.data or "").strip(), (self.quiet_end.data or "").strip()
        problem = ("Give both ends of the quiet hours, or neither." if bool(start) != bool(end) else
                   "The quiet hours must end at another time than they start." if start and start == end else None)
        if problem:
            self.quiet_end.errors = [*self.quiet_end.errors, problem]
        return ok and problem is None

    def values(self) -> dict[str, Any]:
        return {"timezone": self.timezone.data, "quiet_start": (self.quiet_start.data or "").strip() or None,
                "quiet_end": (self.quiet_end.data or "").strip() or None,
                "quiet_allows_critical": bool(self.quiet_allows_critical.data),
                "digest_enabled": bool(self.digest_enabled.data), "digest_hour": self.digest_hour.data}
