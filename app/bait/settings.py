"""Operator settings of the canary tokens, read from the app config (tests) or the environment.

| setting                         | default                     | what                                        |
|---------------------------------|-----------------------------|---------------------------------------------|
| VIGIL_BAIT_BASE_URL             | VIGIL_PUBLIC_URL            | where the honeypot is reached; when set, the |
|                                 |                             | honeypot answers only on this URL's host     |
| VIGIL_BAIT_DNS_ZONE             | (unset: no DNS tokens)      | the zone `vigil bait dns-server` answers for |
| VIGIL_BAIT_PG_HOST / _PG_PORT   | base URL's host / 5432      | where `vigil bait pg-listener` is reached    |
| VIGIL_BAIT_BODY_LIMIT           | 4096                        | bytes of a request body kept with a hit      |
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app

from app.config import env_int, env_str


def setting(key: str, env: str, default: str | None = None) -> str | None:
    value = current_app.config.get(key)
    return value if value is not None else env_str(env, default)


def configured_base_url() -> str | None:
    """The bait base URL when the operator set one (then the honeypot answers only on its host)."""
    value = setting("BAIT_BASE_URL", "VIGIL_BAIT_BASE_URL")
    return value.rstrip("/") if value else None


def base_url() -> str:
    return configured_base_url() or (current_app.config.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000").rstrip("/")


def base_host() -> str:
    return urlsplit(base_url()).hostname or "127.0.0.1"


def dns_zone() -> str | None:
    zone = setting("BAIT_DNS_ZONE", "VIGIL_BAIT_DNS_ZONE")
    return zone.strip(".").lower() if zone else None


def pg_host() -> str:
    return setting("BAIT_PG_HOST", "VIGIL_BAIT_PG_HOST") or base_host()


def pg_port() -> int:
    value = current_app.config.get("BAIT_PG_PORT")
    return int(value) if value is not None else env_int("VIGIL_BAIT_PG_PORT", 5432)


def body_limit() -> int:
    value = current_app.config.get("BAIT_BODY_LIMIT")
    return int(value) if value is not None else env_int("VIGIL_BAIT_BODY_LIMIT", 4096)
