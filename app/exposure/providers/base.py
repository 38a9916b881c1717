"""The one small interface every ghost-search source implements, and what they share: the
organization's sealed API key, a per-organization rate limit in Redis, the timeout, and
turning a provider's answer into one status word per source.

A provider's `search(ctx, query)` returns hits or raises: NoKey, RateLimited or
ProviderError. `run_provider()` turns that into a SourceResult with status `ok`, `no_key`,
`rate_limited`, `error` or `skipped` (the provider does not search this type of value), so
one failing source never fails the search.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa

from app import crypto
from app.jobs.queue import get_redis
from app.models import ProviderCredential, db
from app.outbound import OutboundRefused
from app.outbound.http import HttpResult, TransientFailure, option, request_json

STATUSES = ("ok", "no_key", "rate_limited", "error", "skipped")
QUERY_TYPES = ("email", "domain", "username", "phone", "ip", "password", "keyword")
USER_AGENT = "Vigil-exposure-search"


class NoKey(Exception):
    """The provider needs an API key this organization has not stored."""


class RateLimited(Exception):
    """The provider (or Vigil's own limit for it) refuses more requests for now."""


class ProviderError(Exception):
    """Anything else that kept the provider from answering (message shown per source)."""


@dataclass(frozen=True)
class Query:
    type: str
    value: str  # normalised; for a password, the password itself (memory only)


@dataclass
class Hit:
    source: str
    kind: str  # breach, paste, credential, code, intel, event, password
    title: str
    date: str | None = None
    data_classes: list[str] = field(default_factory=list)
    count: int | None = None
    url: str | None = None
    detail: str | None = None
    ref: str | None = None  # the source's own id of the item (a paste id) when its title may change

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SourceResult:
    source: str
    label: str
    status: str
    hits: list[Hit]
    message: str | None = None
    ms: int = 0


@dataclass(frozen=True)
class Context:
    org_id: int


class Provider:
    """Subclasses set key, label, types, needs_key and implement `search`."""

    key = ""
    label = ""
    types: tuple[str, ...] = ()
    needs_key = False
    per_minute = 30  # Vigil's own ceiling per organization, under the service's published limit

    def search(self, ctx: Context, query: Query) -> list[Hit]:
        raise NotImplementedError

    def is_rate_limited(self, result: HttpResult) -> bool:
        """A service-specific rate-limit answer other than 429 (GitHub answers 403)."""
        return False

    # helpers -------------------------------------------------------------------------
    def base_url(self, default: str) -> str:
        return str(option(f"EXPOSURE_{self.key.upper()}_URL", default)).rstrip("/")

    def api_key(self, ctx: Context) -> str:
        row = stored_key(ctx.org_id, self.key)
        if row is None:
            raise NoKey(f"no {self.label} API key stored for this organization")
        return crypto.decrypt_text(row.secret_encrypted)

    def get(self, url: str, *, headers: dict[str, str] | None = None, params: dict[str, Any] | None = None,
            accept: str = "application/json") -> HttpResult:
        try:
            result = request_json("GET", url, params=params,
                                  headers={"User-Agent": USER_AGENT, "Accept": accept, **(headers or {})},
                                  timeout=float(option("EXPOSURE_PROVIDER_TIMEOUT", 10.0)),
                                  retries=int(option("EXPOSURE_PROVIDER_RETRIES", 1)),
                                  backoff=float(option("EXPOSURE_PROVIDER_BACKOFF", 0.5)))
        except TransientFailure as exc:
            raise ProviderError(f"{self.label} did not answer: {exc}") from None
        except OutboundRefused as exc:
            raise ProviderError(f"{self.label} address refused: {exc}") from None
        if result.status == 429 or self.is_rate_limited(result):
            wait = result.headers.get("Retry-After") or result.headers.get("retry-after")
            raise RateLimited(f"{self.label} asks to wait" + (f" {wait} s" if wait else ""))
        if result.status in (401, 403):
            raise ProviderError(f"{self.label} refused the request (HTTP {result.status})"
                                + (": check the API key" if self.needs_key else ""))
        return result


def credential_name(provider_key: str) -> str:
    """The `provider_credentials.provider` value of an exposure source's key."""
    return f"exp_{provider_key}"


def stored_key(org_id: int, provider_key: str) -> ProviderCredential | None:
    """The organization's sealed key row for a source (never decrypted here)."""
    return db.session.scalar(sa.select(ProviderCredential).where(
        ProviderCredential.org_id == org_id, ProviderCredential.provider == credential_name(provider_key)))


def allow(ctx: Context, provider: Provider) -> bool:
    """Count one request in this minute's window; False when over the provider's ceiling."""
    redis = get_redis()
    window = int(time.time() // 60)
    key = f"vigil:exposure:rate:{ctx.org_id}:{provider.key}:{window}"
    used = redis.incr(key)
    redis.expire(key, 120)
    return used <= provider.per_minute


def run_provider(ctx: Context, provider: Provider, query: Query) -> SourceResult:
    """Ask one provider; every outcome is a status, never an exception."""
    result = SourceResult(provider.key, provider.label, "ok", [])
    if query.type not in provider.types:
        result.status, result.message = "skipped", f"does not search {query.type}"
        return result
    started = time.monotonic()
    try:
        if provider.needs_key:
            provider.api_key(ctx)  # raises NoKey before anything is counted or sent
        if not allow(ctx, provider):
            raise RateLimited(f"more than {provider.per_minute} {provider.label} requests this minute")
        result.hits = provider.search(ctx, query)
    except NoKey as exc:
        result.status, result.message = "no_key", str(exc)
    except RateLimited as exc:
        result.status, result.message = "rate_limited", str(exc)
    except (ProviderError, crypto.DecryptionError) as exc:
        result.status, result.message = "error", str(exc)[:300]
    except Exception as exc:  # noqa: BLE001 - one broken source must not fail the search
        result.status, result.message = "error", f"{type(exc).__name__}"
    result.ms = int((time.monotonic() - started) * 1000)
    return result
