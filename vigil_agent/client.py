"""A small JSON-over-HTTP client for the agent (standard library only), and the outbox
where heartbeats wait while the server cannot take them."""

from __future__ import annotations

import json
import os
import threading
import urllib.error
import urllib.request
from pathlib import Path
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


class Outbox:
    """Heartbeats the server did not take (unreachable, 503, 429), kept in a JSON-lines file
    beside the agent's state so they survive a restart, oldest first.

    Bounded: past `limit` entries the oldest are dropped (the server refuses heartbeats
    older than 24 hours anyway; 720 is 12 hours at the default interval). Path None keeps
    them in memory (the simulator)."""

    def __init__(self, path: Path | str | None, limit: int = 720):
        self.path = Path(path) if path else None
        self.limit = limit
        self.memory: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def items(self) -> list[dict[str, Any]]:
        if self.path is None:
            return list(self.memory)
        if not self.path.exists():
            return []
        items = []
        for line in self.path.read_text().splitlines():
            try:
                item = json.loads(line)
            except ValueError:
                continue  # a line cut short by a crash mid-write: skip it, keep the rest
            if isinstance(item, dict):
                items.append(item)
        return items

    def __len__(self) -> int:
        return len(self.items())

    def put(self, body: dict[str, Any]) -> None:
        with self.lock:
            items = [*self.items(), body]
            if len(items) > self.limit:
                self.write(items[-self.limit:])
            elif self.path is None:
                self.memory = items
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                with os.fdopen(fd, "a") as handle:
                    handle.write(json.dumps(body, separators=(",", ":")) + "\n")

    def write(self, items: list[dict[str, Any]]) -> None:
        """Replace the contents (atomically on disk)."""
        if self.path is None:
            self.memory = list(items)
            return
        if not items:
            self.path.unlink(missing_ok=True)
            return
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write("".join(json.dumps(i, separators=(",", ":")) + "\n" for i in items))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)
