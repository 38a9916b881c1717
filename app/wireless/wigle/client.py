"""A small WiGLE API client: v2 network search, v2 network detail, v3 detail (Wi-Fi and
Bluetooth) and the profile call used to test a credential.

Authentication is HTTP Basic with the organization's API name and token. The base URL is
the WIGLE_BASE_URL option (https://api.wigle.net unless set), so tests point it at a local
fake server. Each logical request reports exactly one outcome to `record` (the quota
ledger), whatever number of attempts the transport needed.
"""

from __future__ import annotations

import base64
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

from app.outbound import OutboundRefused
from app.outbound.http import HttpResult, TransientFailure, option, request_json

DEFAULT_BASE_URL = "https://api.wigle.net"
RATE_LIMIT_MARKERS = ("too many queries",)

Recorder = Callable[[str, str | None, int | None, str], None]


class WigleError(Exception):
    """A lookup that did not give data; `outcome` is the ledger word for it."""

    outcome = "error"
    stops_batch = True


class RateLimited(WigleError):
    """WiGLE said 'Too many queries today': stop, and do not retry today."""

    outcome = "rate_limited"


class AuthFailed(WigleError):
    outcome = "auth_failed"


class NotFound(WigleError):
    outcome = "not_found"
    stops_batch = False


class BadResponse(WigleError):
    outcome = "bad_response"
    stops_batch = False


class Unavailable(WigleError):
    """Network errors or 5xx on every attempt (already backed off)."""

    outcome = "server_error"


def is_rate_limited(status: int, body: Any) -> bool:
    if status == 429:
        return True
    if isinstance(body, dict) and body.get("success") is False:
        message = str(body.get("message") or "").lower()
        return any(marker in message for marker in RATE_LIMIT_MARKERS)
    return False


class WigleClient:
    def __init__(self, api_name: str, token: str, *, base_url: str | None = None,
                 record: Recorder | None = None, sleep: Callable[[float], None] = time.sleep):
        self.base_url = (base_url or option("WIGLE_BASE_URL", DEFAULT_BASE_URL)).rstrip("/")
        raw = f"{api_name}:{token}".encode()
        self._auth = "Basic " + base64.b64encode(raw).decode("ascii")
        self._record = record
        self._sleep = sleep

    def _note(self, endpoint: str, bssid: str | None, status: int | None, outcome: str) -> None:
        if self._record is not None:
            self._record(endpoint, bssid, status, outcome)

    def _get(self, endpoint: str, path: str, bssid: str | None, params: dict[str, Any] | None = None) -> Any:
        try:
            result: HttpResult = request_json("GET", f"{self.base_url}{path}", params=params,
                                              headers={"Authorization": self._auth}, sleep=self._sleep)
        except TransientFailure as exc:
            self._note(endpoint, bssid, exc.status, "server_error" if exc.status else "network_error")
            raise Unavailable(str(exc)) from exc
        except OutboundRefused as exc:
            self._note(endpoint, bssid, None, "refused")
            raise Unavailable(f"refused: {exc}") from exc
        status, body = result.status, result.body
        if is_rate_limited(status, body):
            self._note(endpoint, bssid, status, "rate_limited")
            raise RateLimited(str((body or {}).get("message") if isinstance(body, dict) else "")
                              or "WiGLE refused: too many queries")
        if status in (401, 403):
            self._note(endpoint, bssid, status, "auth_failed")
            raise AuthFailed(f"WiGLE refused the credential (HTTP {status})")
        if status == 404:
            self._note(endpoint, bssid, status, "not_found")
            raise NotFound("WiGLE has no record of this network")
        if status >= 400 or not isinstance(body, dict):
            self._note(endpoint, bssid, status, "bad_response")
            raise BadResponse(f"unexpected answer from WiGLE (HTTP {status})")
        if body.get("success") is False:
            # A refusal that is not the quota message (bad netid, no such network).
            self._note(endpoint, bssid, status, "not_found")
            raise NotFound(str(body.get("message") or "WiGLE found nothing"))
        self._note(endpoint, bssid, status, "ok")
        return body

    def v2_search(self, netid: str) -> dict[str, Any]:
        """GET /api/v2/network/search?netid=..: trilaterated position and place."""
        return self._get("v2/network/search", "/api/v2/network/search", netid, {"netid": netid})

    def v2_detail(self, netid: str) -> dict[str, Any]:
        """GET /api/v2/network/detail?netid=..: the network with its location data."""
        return self._get("v2/network/detail", "/api/v2/network/detail", netid, {"netid": netid})

    def v3_detail(self, kind: str, netid: str) -> dict[str, Any]:
        """GET /api/v3/detail/{wifi|bt}/{netid}: the network with its location clusters."""
        if kind not in ("wifi", "bt"):
            raise ValueError("kind must be wifi or bt")
        path = f"/api/v3/detail/{kind}/{urllib.parse.quote(netid, safe=':')}"
        return self._get(f"v3/detail/{kind}", path, netid)

    def profile(self) -> dict[str, Any]:
        """GET /api/v2/profile/user: answers only for a valid credential (the Test button)."""
        return self._get("v2/profile/user", "/api/v2/profile/user", None)
