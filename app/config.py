"""Settings read from the environment, with an embedded default.

Nothing here touches the network or the disk at import time. `load_config()` builds a
plain dict; `validate_config()` is called by the factory and refuses a production start
that lacks a secret key.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from app import crypto
from app.signing import private_key_from_config

ENVIRONMENTS = ("development", "production", "testing")


class ConfigError(RuntimeError):
    """The configuration cannot run: raised by the factory before anything starts."""


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_int(name: str, default: int) -> int:
    raw = env_str(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc


def env_bool(name: str, default: bool) -> bool:
    raw = env_str(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def sqlite_url(instance_path: str) -> str:
    return "sqlite:///" + str(Path(instance_path) / "vigil.db")


def normalise_database_url(url: str) -> str:
    """Accept the common `postgres://` and `postgresql://` spellings; use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def load_config(instance_path: str) -> dict[str, Any]:
    """Return every setting Vigil reads, each with its default."""
    env = env_str("VIGIL_ENV", "development")
    return {
        "VIGIL_ENV": env,
        "SECRET_KEY": env_str("SECRET_KEY"),
        # Fernet key(s) sealing stored secrets; comma-separated to rotate (the first encrypts).
        # Unset: derived from SECRET_KEY (see validate_config).
        "ENCRYPTION_KEY": env_str("VIGIL_ENCRYPTION_KEY"),
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(
            env_str("DATABASE_URL") or sqlite_url(instance_path)
        ),
        # No REDIS_URL means the embedded queue: fakeredis + a worker thread in the web process.
        "REDIS_URL": env_str("REDIS_URL"),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SQLALCHEMY_TRACK_MODIFICATIONS": False,
        # Sign-in and sessions.
        "LOCKOUT_THRESHOLD": env_int("VIGIL_LOCKOUT_THRESHOLD", 5),
        "LOCKOUT_WINDOW_MINUTES": env_int("VIGIL_LOCKOUT_WINDOW_MINUTES", 15),
        "LOCKOUT_MINUTES": env_int("VIGIL_LOCKOUT_MINUTES", 30),
        "SESSION_HOURS": env_int("VIGIL_SESSION_HOURS", 12),
        "SESSION_IDLE_MINUTES": env_int("VIGIL_SESSION_IDLE_MINUTES", 120),
        "INVITE_HOURS": env_int("VIGIL_INVITE_HOURS", 72),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env_bool("VIGIL_SECURE_COOKIES", env == "production"),
        "SESSION_COOKIE_NAME": "vigil_session",
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": env_int("VIGIL_MAX_UPLOAD_MB", 64) * 1024 * 1024,
        # Wireless sighting files (WiGLE, Kismet) may be larger than other uploads.
        "WIRELESS_IMPORT_MAX_MB": env_int("VIGIL_WIRELESS_IMPORT_MAX_MB", 512),
        # argon2 cost; tests lower it (hashing is ~150 ms at the defaults).
        "ARGON2_TIME_COST": env_int("VIGIL_ARGON2_TIME_COST", 3),
        "ARGON2_MEMORY_COST": env_int("VIGIL_ARGON2_MEMORY_KIB", 65536),
        # Outgoing notifications.
        "WEBHOOK_TIMEOUT_SECONDS": env_int("VIGIL_WEBHOOK_TIMEOUT", 10),
        "NOTIFY_MAX_FAILURES": env_int("VIGIL_NOTIFY_MAX_FAILURES", 5),
        "SMTP_TIMEOUT_SECONDS": env_int("VIGIL_SMTP_TIMEOUT", 10),
        # Vigil's own e-mail (password reset); unset: reset by e-mail is off.
        "SMTP_HOST": env_str("VIGIL_SMTP_HOST"),
        "SMTP_PORT": env_int("VIGIL_SMTP_PORT", 25),
        "SMTP_STARTTLS": env_bool("VIGIL_SMTP_STARTTLS", False),
        "SMTP_USERNAME": env_str("VIGIL_SMTP_USERNAME"),
        "SMTP_PASSWORD": env_str("VIGIL_SMTP_PASSWORD"),
        "SMTP_SENDER": env_str("VIGIL_SMTP_SENDER", "vigil@localhost"),
        "RESET_MINUTES": env_int("VIGIL_RESET_MINUTES", 60),
        # The fleet's WireGuard hub, written into each enrolled device's peer config.
        "FLEET_WG_SERVER_PUBLIC_KEY": env_str("VIGIL_FLEET_WG_PUBLIC_KEY"),
        "FLEET_WG_ENDPOINT": env_str("VIGIL_FLEET_WG_ENDPOINT"),
        # Ed25519 seed (base64, 32 bytes) signing fleet commands; unset: derived from SECRET_KEY.
        "FLEET_SIGNING_KEY": env_str("VIGIL_FLEET_SIGNING_KEY"),
        # Audit chain checkpoints (signed with the key above): the file (unset:
        # instance/audit-checkpoints.jsonl) and an optional webhook that receives each one.
        "AUDIT_CHECKPOINT_FILE": env_str("VIGIL_AUDIT_CHECKPOINT_FILE"),
        "AUDIT_CHECKPOINT_WEBHOOK": env_str("VIGIL_AUDIT_CHECKPOINT_WEBHOOK"),
        # Private networks outgoing requests may reach anyway (comma-separated CIDRs).
        "OUTBOUND_ALLOW": env_str("VIGIL_OUTBOUND_ALLOW", ""),
        "PUBLIC_BASE_URL": env_str("VIGIL_PUBLIC_URL", "http://127.0.0.1:5000"),
        # False: the URL above is only the default, so install commands guess from the request.
        "PUBLIC_BASE_URL_SET": env_str("VIGIL_PUBLIC_URL") is not None,
        # Reverse proxies in front of Vigil whose X-Forwarded-* headers are trusted (0: none).
        "PROXY_HOPS": env_int("VIGIL_PROXY_HOPS", 0),
        # Where network media attachments are stored (unset: instance/wireless-media).
        "WIRELESS_MEDIA_DIR": env_str("VIGIL_MEDIA_DIR"),
        # A running job's lease (app/jobs/lease.py): a run whose worker has not renewed it for
        # this long is marked abandoned by jobs.recover.
        "JOB_LEASE_SECONDS": env_int("VIGIL_JOB_LEASE_SECONDS", 60),
    }


def validate_config(config: dict[str, Any], instance_path: str) -> None:
    """Refuse settings that cannot run; fill in the development secret key."""
    env = config["VIGIL_ENV"]
    if env not in ENVIRONMENTS:
        raise ConfigError(f"VIGIL_ENV must be one of {', '.join(ENVIRONMENTS)}, got {env!r}")
    if not config.get("SECRET_KEY"):
        if env == "production":
            raise ConfigError("SECRET_KEY is required when VIGIL_ENV=production")
        config["SECRET_KEY"] = development_secret_key(instance_path)
    validate_encryption_key(config)
    validate_signing_key(config)
    if env == "production" and config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # Allowed (a single host can run on SQLite) but the operator should know.
        config.setdefault("WARNINGS", []).append("production is running on SQLite")


def validate_encryption_key(config: dict[str, Any]) -> None:
    """Check an explicit ENCRYPTION_KEY, or derive one from SECRET_KEY (warned in production)."""
    if config.get("ENCRYPTION_KEY"):
        try:
            crypto.check_keys(config["ENCRYPTION_KEY"])
        except ValueError as exc:
            raise ConfigError(f"VIGIL_ENCRYPTION_KEY is not valid: {exc}") from exc
        return
    config["ENCRYPTION_KEY"] = crypto.derive_key(config["SECRET_KEY"])
    if config["VIGIL_ENV"] == "production":
        config.setdefault("WARNINGS", []).append(
            "VIGIL_ENCRYPTION_KEY is not set: stored secrets are encrypted with a key derived from "
            "SECRET_KEY, so changing SECRET_KEY makes them unreadable. Set VIGIL_ENCRYPTION_KEY."
        )


def validate_signing_key(config: dict[str, Any]) -> None:
    """Refuse a malformed VIGIL_FLEET_SIGNING_KEY; warn in production when it is derived."""
    try:
        private_key_from_config(config)
    except ValueError as exc:
        raise ConfigError(f"VIGIL_FLEET_SIGNING_KEY is not valid: {exc}") from exc
    if not config.get("FLEET_SIGNING_KEY") and config["VIGIL_ENV"] == "production":
        config.setdefault("WARNINGS", []).append(
            "VIGIL_FLEET_SIGNING_KEY is not set: fleet commands are signed with a key derived from "
            "SECRET_KEY, so changing SECRET_KEY makes enrolled agents refuse every command."
        )


def development_secret_key(instance_path: str) -> str:
    """A per-checkout key kept in instance/, so sessions survive a restart of `make run`."""
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key
