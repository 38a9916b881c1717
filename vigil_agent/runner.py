"""The agent's loop: enrol once, then heartbeats and command polls.

Every command is checked before anything runs, in this order: it is for this device, its
Ed25519 signature verifies with the key enrolment handed out, it has not expired, and its
nonce was never accepted before (nonces are persisted, so a restart does not forget them).
The nonce is saved before the action starts, so a crash mid-action cannot lead to running
the same command twice. Only actions in the allowlist run; others are reported unsupported.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from vigil_agent import actions as real_actions
from vigil_agent.client import AgentHttpError, ApiClient, Outbox
from vigil_agent.config import AgentState, StateFile
from vigil_agent.gmp import ScannerCollector
from vigil_agent.policy import PolicyError, default_policy_path, load_policy
from vigil_agent.protocol import load_public_key, parse_iso_utc, verify

log = logging.getLogger("vigil.agent")
FACTS_SECONDS = 6 * 3600  # inventory changes slowly: at start, then every 6 hours
# Answers meaning "not now, send it again later": the heartbeat goes to the outbox.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
RESEND_BATCH = 60  # per successful heartbeat, so a long backlog drains without a burst


class AgentError(Exception):
    """The agent cannot go on (enrolment refused, key revoked)."""


def new_wireguard_key() -> tuple[str, str]:
    """A WireGuard (X25519) key pair as base64: (private, public)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    key = X25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(private).decode(), base64.b64encode(public).decode()


def same_server(a: str | None, b: str | None) -> bool:
    """Whether two base URLs name the same server (case of scheme and host, trailing slash aside)."""
    def norm(url: str | None) -> str:
        parts = urlsplit((url or "").strip())
        return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path.rstrip('/')}"
    return norm(a) == norm(b)


class Agent:
    def __init__(self, server: str, state_file: StateFile, collector: Any,
                 actions: dict[str, Callable[..., dict[str, Any]]] | None = None,
                 clock: Callable[[], datetime] | None = None, policy_path: Path | None = None):
        self.state_file = state_file
        self.policy_path = policy_path or default_policy_path(state_file.path)
        self.state = state_file.load() or AgentState(server=server)
        # The server the saved enrolment belongs to (ensure_enrolled compares it with a claim code's).
        self.enrolled_server = self.state.server if self.state.enrolled else None
        if server and self.state.server != server:
            self.state.server = server
        self.collector = collector
        self.actions = real_actions.ALLOWLIST if actions is None else actions
        self.clock = clock or (lambda: datetime.now(UTC))
        self.current_command_id: int | None = None
        # Run after the command's result is reported (an update restarting the agent).
        self.after_report: list[Callable[[], Any]] = []
        self.client = ApiClient(self.state.server, self.state.api_key)
        self.scanner = self._scanner()
        path = state_file.path
        self.outbox = Outbox(path.with_name(path.stem + ".outbox.jsonl") if path else None)

    def _scanner(self) -> ScannerCollector | None:
        """The Greenbone collector, when the host's policy names a GMP socket."""
        try:
            section = load_policy(self.policy_path).section("scanner")
        except PolicyError as exc:
            log.error("%s: no scanner statistics", exc)
            return None
        return ScannerCollector(section) if section.get("gmp_socket") else None

    # Enrolment and telemetry -------------------------------------------------------------------

    def ensure_enrolled(self, claim_code: str | None, re_enrol: bool = False) -> None:
        """Enrol with the claim code unless a saved key exists (then the code is not used again).

        A claim code for another server than the saved enrolment's is refused unless
        `re_enrol` says to drop that enrolment: otherwise the agent would keep reporting to
        the old server while its new operator waits for it. Without a claim code, a new
        --server is the same server at a new address and keeps the saved key.
        """
        if self.state.enrolled and re_enrol:
            self.state = AgentState(server=self.state.server)
        elif self.state.enrolled and claim_code and not same_server(self.enrolled_server, self.state.server):
            raise AgentError(
                f"this host is enrolled with {self.enrolled_server} as device {self.state.device_id} "
                f"({self.state_file.path or 'in memory'}), but the claim code is for {self.state.server}. "
                "Pass --re-enrol to drop the old enrolment and enrol with the new server, or leave out "
                "--claim-code to keep reporting to the same server at its new address.")
        if self.state.enrolled:
            return
        if not claim_code:
            raise AgentError("not enrolled yet: pass --claim-code")
        private, public = new_wireguard_key()
        status, body = ApiClient(self.state.server).post("/agent/enrol", {
            "claim_code": claim_code, "hostname": self.collector.hostname(), "wireguard_public_key": public,
            "facts": self.collector.facts()})
        if status != 201:
            error = body.get("error", {})
            raise AgentError(f"enrolment refused ({status} {error.get('code')}): {error.get('message')}")
        self.state.device_id, self.state.api_key = body["device_id"], body["api_key"]
        self.state.command_public_key = body["command_public_key"]
        self.state.heartbeat_interval = int(body.get("heartbeat_interval") or 60)
        self.state.overlay_ip, self.state.wireguard_private_key = body.get("overlay_ip"), private
        self.state_file.save(self.state)
        self.client = ApiClient(self.state.server, self.state.api_key)
        log.info("enrolled as device %s (%s)", self.state.device_id, self.state.overlay_ip)

    def _check_auth(self, status: int, body: dict[str, Any]) -> None:
        if status == 401:
            raise AgentError(f"the server refused the device key: {body.get('error', {}).get('message')}")

    def send_heartbeat(self) -> int:
        """Send this moment's heartbeat; keep it in the outbox when the server cannot take it
        now, and resend what is kept once it can. Returns the status (0: no answer)."""
        beat = {"device_id": self.state.device_id, **self.collector.heartbeat()}
        if self.scanner is not None and (stats := self.scanner.stats()) is not None:
            beat["scanner_stats"] = stats
        try:
            status, body = self.client.post("/agent/heartbeat", beat)
        except AgentHttpError:
            self.outbox.put(beat)
            raise
        self._check_auth(status, body)
        if status in RETRY_STATUSES:
            self.outbox.put(beat)
            log.warning("heartbeat answered %s, kept to send again (%d waiting)", status, len(self.outbox))
        elif status not in (200, 202):  # 200: a duplicate of one the server already has
            log.warning("heartbeat answered %s: %s", status, body.get("error"))
        else:
            if body.get("heartbeat_interval"):
                self.state.heartbeat_interval = int(body["heartbeat_interval"])
            self.resend_kept()
        return status

    def resend_kept(self) -> int:
        """Send kept heartbeats oldest first; stop at the first that cannot go yet. A heartbeat
        the server refuses for good (4xx: too old, invalid) is dropped. Returns how many went."""
        items = self.outbox.items()
        if not items:
            return 0
        sent = 0
        for index, beat in enumerate(items[:RESEND_BATCH]):
            try:
                status, body = self.client.post("/agent/heartbeat", beat)
            except AgentHttpError:
                self.outbox.write(items[index:])
                return sent
            self._check_auth(status, body)
            if status in RETRY_STATUSES:
                self.outbox.write(items[index:])
                return sent
            if status in (200, 202):  # 200: the server already had it
                sent += 1
            else:
                log.warning("kept heartbeat of %s refused (%s): dropped", beat.get("timestamp"), status)
        self.outbox.write(items[RESEND_BATCH:])
        log.info("resent %d kept heartbeat(s), %d still waiting", sent, max(0, len(items) - RESEND_BATCH))
        return sent

    def send_facts(self) -> int:
        """Post an inventory snapshot (the server keeps the newest ones and shows what changed)."""
        inventory = getattr(self.collector, "inventory", self.collector.facts)
        status, body = self.client.post("/agent/facts", {"device_id": self.state.device_id, "facts": inventory()})
        self._check_auth(status, body)
        if status != 201:
            log.warning("facts answered %s: %s", status, body.get("error"))
        return status

    def report_backup(self, report: dict[str, Any]) -> int:
        status, body = self.client.post("/agent/backups", report)
        if status != 201:
            log.warning("backup report answered %s: %s", status, body.get("error"))
        return status

    def report_restore_test(self, report: dict[str, Any]) -> int:
        status, body = self.client.post("/agent/backups/restore-test", report)
        if status != 200:
            log.warning("restore test report answered %s: %s", status, body.get("error"))
        return status

    # Commands ------------------------------------------------------------------------------------

    def refusal(self, command: dict[str, Any]) -> str | None:
        """Why this command must not run, or None when it may."""
        if command.get("device_id") != self.state.device_id:
            return "refused: the command is for another device"
        key = load_public_key(self.state.command_public_key or "")
        if not verify(key, command, command.get("signature")):
            return "refused: the signature does not verify"
        try:
            expires = parse_iso_utc(str(command["expires_at"]))
        except ValueError:
            return "refused: unreadable expiry"
        if expires <= self.clock():
            return "refused: the command expired"
        if self.state.nonce_seen(str(command["nonce"])):
            return "refused: nonce already used (replay)"
        return None

    def report(self, command_id: Any, status: str, result: dict[str, Any] | None = None,
               error: str | None = None) -> int | None:
        if not isinstance(command_id, int):
            return None
        body: dict[str, Any] = {"status": status}
        if result is not None:
            body["result"] = result
        if error:
            body["error"] = error[:5000]
        answer, reply = self.client.post(f"/agent/commands/{command_id}/result", body)
        if answer != 200:
            log.info("result for command %s answered %s: %s", command_id, answer, reply.get("error"))
        return answer

    def handle(self, command: dict[str, Any]) -> str:
        """Check and run one command; returns what happened (refused..., unsupported, completed, failed)."""
        reason = self.refusal(command)
        if reason is not None:
            log.warning("command %s %s", command.get("id"), reason)
            self.report(command.get("id"), "failed", error=reason)
            return reason
        self.state.remember_nonce(str(command["nonce"]), self.clock())
        self.state_file.save(self.state)
        action = self.actions.get(command["type"])
        if action is None:
            self.report(command["id"], "failed", error=f"unsupported: this agent does not run {command['type']}")
            return "unsupported"
        try:
            allowed = load_policy(self.policy_path).allows(command["type"])
        except PolicyError as exc:
            log.error("%s: refusing command %s", exc, command["id"])
            self.report(command["id"], "failed", error=f"refused: {exc}")
            return "refused: policy unreadable"
        if not allowed:
            log.warning("command %s (%s) refused: switched off in %s", command["id"], command["type"], self.policy_path)
            self.report(command["id"], "failed",
                        error=f"disabled: {command['type']} is switched off in this host's agent policy")
            return "disabled"
        log.info("running command %s: %s", command["id"], command["type"])
        self.report(command["id"], "in_progress")
        self.current_command_id = command["id"]
        try:
            result = action(self, command.get("payload") or {})
        except real_actions.ActionError as exc:
            log.warning("command %s (%s) failed: %s", command["id"], command["type"], exc)
            self.report(command["id"], "failed", error=str(exc))
            return "failed"
        except Exception as exc:  # noqa: BLE001 - an action's bug is reported, never crashes the agent
            log.exception("action %s failed", command["type"])
            self.report(command["id"], "failed", error=f"{type(exc).__name__}: {exc}")
            return "failed"
        finally:
            self.current_command_id = None
        log.info("command %s (%s) completed", command["id"], command["type"])
        self.report(command["id"], "completed", result=result)
        while self.after_report:
            try:
                self.after_report.pop(0)()
            except real_actions.ActionError as exc:
                log.error("after command %s: %s", command["id"], exc)
        return "completed"

    def poll(self) -> list[str]:
        status, body = self.client.get("/agent/commands")
        self._check_auth(status, body)
        if status != 200:
            log.warning("command poll answered %s: %s", status, body.get("error"))
            return []
        return [self.handle(c) for c in body.get("commands", []) if isinstance(c, dict)]

    # The loop ----------------------------------------------------------------------------------------

    def tick(self) -> None:
        self.send_heartbeat()
        self.poll()

    def run(self, once: bool = False, stop: Callable[[], bool] | None = None) -> None:
        """Heartbeat every heartbeat_interval; poll commands at least every 15 s."""
        next_beat = next_poll = next_facts = 0.0
        backoff = 1.0
        while True:
            now = time.monotonic()
            try:
                if now >= next_facts:
                    self.send_facts()
                    next_facts = now + FACTS_SECONDS
                if now >= next_beat:
                    # Scheduled before sending: while the server is unreachable, a heartbeat
                    # is still taken (and kept) once per interval, not once per retry.
                    next_beat = now + self.state.heartbeat_interval
                    self.send_heartbeat()
                if now >= next_poll:
                    self.poll()
                    next_poll = now + min(15, self.state.heartbeat_interval)
                backoff = 1.0
            except AgentHttpError as exc:
                log.warning("%s (retrying in %.0f s)", exc, backoff)
                if once:
                    raise
                time.sleep(backoff)
                backoff = min(backoff * 2, 300)
                continue
            if once or (stop and stop()):
                return
            time.sleep(max(0.5, min(next_beat, next_poll) - time.monotonic()))
