"""Backups with restic (the Debian package `restic`, found on PATH): file backups of the
configured paths, forgetting exactly the snapshots the server's retention listed, and
restore tests that restore a sample of files and compare checksums.

The repository password (and S3 keys) arrive sealed to this agent inside the signed
command; they are opened here, handed to restic through its environment, and never
logged: every log line and error that leaves the agent has them blanked out.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vigil_agent.errors import ActionError
from vigil_agent.protocol import unseal

LOG_TAIL = 4000
SECRET_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
RESTORE_SAMPLE = 20
TIMEOUT = 6 * 3600


def restic_path() -> str:
    """restic on PATH, or an ActionError that says so plainly."""
    found = shutil.which("restic")
    if found is None:
        raise ActionError("restic is not installed on this host (Debian: apt-get install restic); nothing was backed up")
    return found


@dataclass
class Repository:
    """A restic repository and the secrets to open it (kept out of every log)."""

    location: str
    password: str
    env: dict[str, str]
    cache_dir: str

    @classmethod
    def from_payload(cls, agent: Any, payload: dict[str, Any]) -> Repository:
        location = payload.get("repository")
        if not isinstance(location, str) or not location.strip():
            raise ActionError("no backup repository is configured for this device")
        if not agent.state.wireguard_private_key:
            raise ActionError("this agent has no key to open the repository password with; enrol again")
        try:
            secret = unseal(agent.state.wireguard_private_key, str(payload.get("secrets") or ""))
        except ValueError as exc:
            raise ActionError(f"cannot open the repository password: {exc}") from exc
        password = secret.get("password")
        if not isinstance(password, str) or not password:
            raise ActionError("the repository password is missing")
        env = {k: str(v) for k, v in (secret.get("env") or {}).items() if k in SECRET_ENV}
        state = agent.state_file.path
        # restic's cache beside the agent's state (kept across restarts, unlike a private /tmp).
        cache = state.parent / "restic-cache" if state else Path(tempfile.gettempdir()) / "vigil-agent-restic-cache"
        return cls(location.strip(), password, env, str(cache))

    def blank(self, text: str) -> str:
        """`text` with every secret replaced, so it can be logged and reported."""
        for secret in (self.password, *self.env.values()):
            if secret and len(secret) >= 4:
                text = text.replace(secret, "********")
        return text

    def run(self, *args: str, timeout: int = TIMEOUT, text: bool = True) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RESTIC_", "AWS_"))}
        env.update(self.env, RESTIC_REPOSITORY=self.location, RESTIC_PASSWORD=self.password)
        env["RESTIC_CACHE_DIR"] = self.cache_dir
        try:
            return subprocess.run([restic_path(), *args], env=env, capture_output=True, text=text,
                                  timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise ActionError(f"restic {args[0]} did not finish within {timeout} s") from exc
        except OSError as exc:
            raise ActionError(f"cannot run restic: {exc}") from exc

    def checked(self, *args: str) -> str:
        done = self.run(*args)
        if done.returncode != 0:
            raise ActionError(self.blank(f"restic {args[0]} failed ({done.returncode}): {tail(done.stderr, 1000)}"))
        return done.stdout

    def ensure_initialised(self) -> None:
        """Create the repository on first use; an existing one is left as it is."""
        if self.run("cat", "config", timeout=600).returncode == 0:
            return
        self.checked("init")


def tail(text: str, limit: int = LOG_TAIL) -> str:
    return text[-limit:].strip()


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _strings(value: Any, what: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v and "\0" not in v for v in value):
        raise ActionError(f"{what}: a list of strings")
    return value


def run_backup(agent: Any, payload: dict[str, Any]) -> dict[str, Any]:
    """Back up the configured paths with restic and report the snapshot into the catalog:
    in progress first, then completed or failed with the numbers and the log's tail."""
    mode = payload.get("mode", "file")
    started = datetime.now(UTC)
    base = {"backup_type": "file" if mode == "file" else "full_disk", "backup_method": "restic",
            "storage_path": str(payload.get("repository") or "none")[:2000], "command_id": agent.current_command_id}
    if mode != "file":
        message = f"{mode} backups are not supported by this agent (it makes file backups with restic only)"
        agent.report_backup({**base, "snapshot_id": f"unsupported-{agent.current_command_id}", "status": "failed",
                             "started_at": started.isoformat(), "completed_at": _now(), "error": message})
        raise ActionError(message)
    run_id = f"run-{started:%Y%m%dT%H%M%S}-{agent.current_command_id}"
    repo: Repository | None = None
    try:
        paths = _strings(payload.get("paths"), "paths")
        excludes = _strings(payload.get("excludes"), "excludes")
        if not paths:
            raise ActionError("no paths to back up are configured")
        restic_path()
        repo = Repository.from_payload(agent, payload)
        agent.report_backup({**base, "snapshot_id": run_id, "status": "in_progress", "started_at": started.isoformat()})
        repo.ensure_initialised()
        args = ["backup", "--json", "--host", socket.gethostname(), "--tag", "vigil",
                *(a for pattern in excludes for a in ("--exclude", pattern)), "--", *paths]
        done = repo.run(*args)
    except ActionError as exc:
        message = repo.blank(str(exc)) if repo else str(exc)
        agent.report_backup({**base, "snapshot_id": run_id, "status": "failed", "started_at": started.isoformat(),
                             "completed_at": _now(), "error": message})
        raise ActionError(message) from exc
    summary = _summary(done.stdout)
    log_tail = repo.blank(tail("\n".join(line for line in done.stdout.splitlines() if '"message_type":"status"' not in line)
                               + "\n" + done.stderr))
    duration = int((datetime.now(UTC) - started).total_seconds())
    # restic exits 3 when some files could not be read but a snapshot was still made.
    if summary is None or done.returncode not in (0, 3):
        error = repo.blank(f"restic backup failed ({done.returncode}): {tail(done.stderr, 1000) or 'no summary'}")
        agent.report_backup({**base, "snapshot_id": run_id, "status": "failed", "started_at": started.isoformat(),
                             "completed_at": _now(), "duration_seconds": duration, "error": error, "logs": log_tail})
        raise ActionError(error)
    report = {**base, "snapshot_id": summary["snapshot_id"], "replaces_snapshot_id": run_id, "status": "completed",
              "started_at": started.isoformat(), "completed_at": _now(), "duration_seconds": duration,
              "size_bytes": int(summary.get("total_bytes_processed") or 0),
              "compressed_size_bytes": int(summary.get("data_added") or 0),
              "file_count": int(summary.get("total_files_processed") or 0), "encrypted": True, "logs": log_tail}
    if done.returncode == 3:
        report["error"] = "some files could not be read (see the log)"
    agent.report_backup(report)
    return {"snapshot_id": summary["snapshot_id"], "files": report["file_count"], "bytes": report["size_bytes"],
            "added_bytes": report["compressed_size_bytes"], "duration_seconds": duration}


def _summary(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.splitlines()):
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict) and item.get("message_type") == "summary" and item.get("snapshot_id"):
            return item
    return None


def forget_snapshots(agent: Any, payload: dict[str, Any]) -> dict[str, Any]:
    """Forget exactly the listed snapshots (what the server's retention dry run listed), then prune."""
    ids = _strings(payload.get("snapshot_ids"), "snapshot_ids")
    if not ids or not all(len(i) <= 64 and all(c in "0123456789abcdef" for c in i) for i in ids):
        raise ActionError("snapshot_ids: restic snapshot ids (hex)")
    repo = Repository.from_payload(agent, payload)
    forgot = repo.checked("forget", "--json", *ids)
    pruned = repo.checked("prune")
    return {"forgotten": ids, "log": repo.blank(tail(forgot + "\n" + pruned, 2000))}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_file(repo: Repository, snapshot: str, entry: dict[str, Any], restored: Path) -> str | None:
    """Why the restored copy of `entry` is wrong, or None when it checks out: its checksum
    equals the live file's when that is unchanged since the snapshot, else the repository's
    own copy (`restic dump`), and its size is the snapshot's."""
    target = restored / entry["path"].lstrip("/")
    if not target.is_file():
        return f"{entry['path']}: not restored"
    if target.stat().st_size != entry.get("size", 0):
        return f"{entry['path']}: size {target.stat().st_size}, the snapshot says {entry.get('size')}"
    source = Path(entry["path"])
    try:
        unchanged = (source.is_file() and source.stat().st_size == entry.get("size")
                     and datetime.fromtimestamp(source.stat().st_mtime, UTC)
                     == datetime.fromisoformat(entry["mtime"]).astimezone(UTC))
    except (OSError, ValueError, KeyError):
        unchanged = False
    if unchanged:
        expected = _sha256(source)
    else:
        expected = hashlib.sha256(repo.run("dump", snapshot, entry["path"], text=False).stdout).hexdigest()
    return None if _sha256(target) == expected else f"{entry['path']}: checksum differs"


def restore_test(agent: Any, payload: dict[str, Any]) -> dict[str, Any]:
    """Restore a sample of one snapshot's files into a temporary directory, compare their
    checksums, report the outcome (restore_tested / restore_result) and clean up."""
    snapshot = payload.get("snapshot_id")
    if not isinstance(snapshot, str) or not snapshot or not all(c in "0123456789abcdef" for c in snapshot):
        raise ActionError("snapshot_id: a restic snapshot id")
    repo = Repository.from_payload(agent, payload)
    began = time.monotonic()
    problems: list[str] = []
    checked = 0
    try:
        listing = [json.loads(line) for line in repo.checked("ls", "--json", snapshot).splitlines() if line.strip()]
        files = [e for e in listing if e.get("struct_type") == "node" and e.get("type") == "file"]
        if not files:
            raise ActionError("the snapshot has no files to restore")
        sample = random.Random(snapshot).sample(files, min(len(files), int(payload.get("sample") or RESTORE_SAMPLE)))
        with tempfile.TemporaryDirectory(prefix="vigil-restore-") as where:
            includes = [a for e in sample for a in ("--include", e["path"])]
            repo.checked("restore", snapshot, "--target", where, *includes)
            for entry in sample:
                checked += 1
                if (problem := _check_file(repo, snapshot, entry, Path(where))):
                    problems.append(problem)
    except ActionError as exc:
        problems.append(repo.blank(str(exc)))
    passed = not problems and checked > 0
    report = {"snapshot_id": snapshot, "result": "passed" if passed else "failed", "files_checked": checked,
              "duration_seconds": int(time.monotonic() - began), "command_id": agent.current_command_id}
    if problems:
        report["error"] = "; ".join(problems)[:5000]
    agent.report_restore_test(report)
    if not passed:
        raise ActionError(f"restore test failed: {report['error']}")
    return {"snapshot_id": snapshot, "files_checked": checked, "result": "passed"}
