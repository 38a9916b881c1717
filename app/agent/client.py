"""A small JSON-over-HTTP client for the agent (standard library only)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

USER_AGENT = "vigil-agent/1"


class AgentHttpError(Exception):
    """The server could not be reached, or answered something that is not JSON."""


class ApiClient:
    def __init__(self, server: str, api_key: str | None = None, timeout: float = 15.0):
        self.base = server.rstrip("/") + "/api"
        self.api_key = api_key
        self.timeout = timeout

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        """(status, JSON body) for any HTTP status; AgentHttpError when there is no usable answer."""
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        req = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as response:  # noqa: S310 - the configured server
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            raise AgentHttpError(f"{method} {path}: {exc}") from exc
        try:
            parsed = json.loads(raw or b"{}")
        except ValueError as exc:
            raise AgentHttpError(f"{method} {path}: answered {status} with a body that is not JSON") from exc
        return status, parsed if isinstance(parsed, dict) else {"items": parsed}

    def get(self, path: str) -> tuple[int, dict[str, Any]]:
        return self.request("GET", path)

    def post(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return self.request("POST", path, body)
