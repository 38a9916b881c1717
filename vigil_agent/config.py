"""The agent's state file: server, device id, device key, the command-signing public key,
its WireGuard private key and the nonces of commands it has already accepted.

It holds a secret, so it is written owner-only (0600) and replaced atomically: a crash
while saving leaves the previous file, never half of one.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

NONCE_KEEP = timedelta(hours=24)  # a command is refused after 5 minutes anyway; this is slack for clock skew
MAX_NONCES = 10_000


def default_path() -> Path:
    if os.environ.get("VIGIL_AGENT_CONFIG"):
        return Path(os.environ["VIGIL_AGENT_CONFIG"])
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/etc/vigil-agent/agent.json")
    return Path.home() / ".config" / "vigil-agent" / "agent.json"


@dataclass
class AgentState:
    server: str
    device_id: int | None = None
    api_key: str | None = None
    command_public_key: str | None = None
    heartbeat_interval: int = 60
    overlay_ip: str | None = None
    wireguard_private_key: str | None = None
    seen_nonces: dict[str, str] = field(default_factory=dict)  # nonce -> when it was accepted (UTC ISO)

    @property
    def enrolled(self) -> bool:
        return bool(self.device_id and self.api_key and self.command_public_key)

    def nonce_seen(self, nonce: str) -> bool:
        return nonce in self.seen_nonces

    def remember_nonce(self, nonce: str, now: datetime | None = None) -> None:
        now = now or datetime.now(UTC)
        cutoff = now - NONCE_KEEP
        self.seen_nonces = {n: t for n, t in self.seen_nonces.items() if datetime.fromisoformat(t) >= cutoff}
        self.seen_nonces[nonce] = now.isoformat()
        if len(self.seen_nonces) > MAX_NONCES:
            newest = sorted(self.seen_nonces.items(), key=lambda item: item[1])[-MAX_NONCES:]
            self.seen_nonces = dict(newest)


class StateFile:
    """Where an AgentState lives; path None keeps it in memory (the simulator)."""

    def __init__(self, path: Path | str | None):
        self.path = Path(path) if path else None

    def load(self) -> AgentState | None:
        if self.path is None or not self.path.exists():
            return None
        data: dict[str, Any] = json.loads(self.path.read_text())
        known = set(AgentState.__dataclass_fields__)
        return AgentState(**{k: v for k, v in data.items() if k in known})

    def save(self, state: AgentState) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".agent-", suffix=".json")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump(asdict(state), handle, indent=2, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        os.chmod(self.path, 0o600)
