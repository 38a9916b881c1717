"""Vigil's shared HTTP client: outgoing JSON requests to providers (WiGLE, the geocoders,
exposure feeds, the metrics AI provider, surface report summaries).

Every request passes the outbound address guard (app/outbound/__init__.py), has a
timeout, refuses redirects and caps the body. Connection failures and 5xx answers are retried a bounded
number of times with exponential backoff; the caller sees one result per logical request,
so a quota ledger counts a request once however many attempts it took.
"""

from __future__ import annotations

import http.client
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app

from app.outbound import OutboundRefused, check_host

MAX_BODY_BYTES = 8 * 1024 * 1024
USER_AGENT = "Vigil/0.1 (wireless enrichment; +https://github.com/vigil)"


def option(name: str, default: Any) -> Any:
    """A provider option: app config NAME, else environment VIGIL_NAME, else the default."""
    value = current_app.config.get(name)
    if value is None or value == "":
        value = os.environ.get(f"VIGIL_{name}")
    if value is None or value == "":
        return default
    if isinstance(default, bool):
        return str(value).lower() in ("1", "true", "yes", "on")
    if isinstance(default, int | float) and not isinstance(value, int | float):
        try:
            return type(default)(value)
        except ValueError:
            return default
    return value


@dataclass
class HttpResult:
    status: int
    body: Any  # parsed JSON, or None when the body was not JSON
    text: str
    attempts: int
    headers: dict[str, str]


class TransientFailure(Exception):
    """The service could not be reached or answered 5xx on every attempt."""

    def __init__(self, message: str, status: int | None, attempts: int):
        super().__init__(message)
        self.status = status
        self.attempts = attempts


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None


def _decode(raw: bytes) -> tuple[Any, str]:
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text), text
    except ValueError:
        return None, text


def request_json(
    method: str,
    url: str,
    *,
    params: dict[str, Any] | None = None,
    form: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    timeout: float | None = None,
    retries: int | None = None,
    backoff: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    json_body: Any = None,
) -> HttpResult:
    """One logical request; 2xx-4xx come back as they are, 5xx and network errors are retried."""
    timeout = timeout if timeout is not None else option("PROVIDER_TIMEOUT_SECONDS", 15.0)
    retries = retries if retries is not None else option("PROVIDER_RETRIES", 3)
    backoff = backoff if backoff is not None else option("PROVIDER_BACKOFF_SECONDS", 1.0)
    if params:
        url = f"{url}{'&' if '?' in url else '?'}{urllib.parse.urlencode(params)}"
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundRefused(f"not an http(s) URL: {parts.scheme}://{parts.hostname or ''}")
    check_host(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    all_headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})}
    if json_body is not None:  # a JSON request body (the metrics AI provider)
        data = json.dumps(json_body).encode()
        all_headers["Content-Type"] = "application/json"
    opener = urllib.request.build_opener(_NoRedirects)
    attempts = 0
    last_status: int | None = None
    last_error = ""
    while True:
        attempts += 1
        req = urllib.request.Request(url, data=data, headers=all_headers, method=method)
        try:
            with opener.open(req, timeout=timeout) as resp:
                body, text = _decode(resp.read(MAX_BODY_BYTES))
                return HttpResult(resp.status, body, text, attempts, dict(resp.headers.items()))
        except urllib.error.HTTPError as exc:
            raw = exc.read(MAX_BODY_BYTES) if exc.fp else b""
            body, text = _decode(raw)
            if exc.code < 500:
                return HttpResult(exc.code, body, text, attempts, dict(exc.headers.items()))
            last_status, last_error = exc.code, f"HTTP {exc.code}"
        except urllib.error.URLError as exc:
            last_status, last_error = None, f"connection failed: {exc.reason}"
        except (TimeoutError, OSError, http.client.HTTPException) as exc:
            last_status, last_error = None, f"connection failed: {type(exc).__name__}: {exc}"
        if attempts > retries:
            raise TransientFailure(f"{last_error} after {attempts} attempt(s)", last_status, attempts)
        sleep(backoff * (2 ** (attempts - 1)))
