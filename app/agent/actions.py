"""The only actions this agent runs. Everything else a server asks for is reported back
as unsupported: a compromised or mistaken server cannot make the agent reboot, shut down
or rename the host, because that code is not here."""

from __future__ import annotations

import os
import platform
import socket
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

MANIFEST_FILE_LIMIT = 100_000


class ActionError(Exception):
    """The action ran and failed; the message is reported as the command's error."""


def collect_diagnostics(agent: Any, payload: dict[str, Any]) -> dict[str, Any]:
    """A read-only snapshot of the host and the agent."""
    root = psutil.disk_usage("/")
    return {"hostname": socket.gethostname(), "python": sys.version.split()[0], "platform": platform.platform(),
            "uptime_seconds": int(time.time() - psutil.boot_time()), "cpu_count": psutil.cpu_count(),
            "load": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
            "disk_root_percent": root.percent, "process_count": len(psutil.pids()),
            "agent_config": str(agent.state_file.path) if agent.state_file.path else None}


def _manifest(paths: list[str]) -> dict[str, Any]:
    files = size = 0
    for top in paths:
        for dirpath, _dirs, names in os.walk(top):
            for name in names:
                try:
                    size += (Path(dirpath) / name).stat().st_size
                except OSError:
                    continue
                files += 1
                if files >= MANIFEST_FILE_LIMIT:
                    return {"paths": paths, "files": files, "bytes": size, "truncated": True}
    return {"paths": paths, "files": files, "bytes": size, "truncated": False}


def run_backup(agent: Any, payload: dict[str, Any]) -> dict[str, Any]:
    """This agent has no backup engine: it makes a manifest of what would be backed up
    (VIGIL_AGENT_BACKUP_PATHS, default /etc), copies nothing, and says so in the catalog as a
    failed backup, so missing-backup alerts stay truthful."""
    paths = [p for p in os.environ.get("VIGIL_AGENT_BACKUP_PATHS", "/etc").split(":") if p]
    started = datetime.now(UTC)
    manifest = _manifest(paths)
    message = (f"no backup engine on this agent: listed {manifest['files']} files ({manifest['bytes']} bytes) "
               f"under {', '.join(paths)}, copied nothing")
    agent.report_backup({"snapshot_id": f"manifest-{uuid.uuid4().hex[:12]}", "backup_type": "file",
                         "backup_method": "manifest", "storage_path": "none", "status": "failed",
                         "started_at": started.isoformat(), "completed_at": datetime.now(UTC).isoformat(),
                         "file_count": manifest["files"], "size_bytes": manifest["bytes"], "encrypted": False,
                         "error": message, "command_id": agent.current_command_id})
    return {"backup": "not made", "manifest": manifest, "message": message}


ALLOWLIST: dict[str, Callable[[Any, dict[str, Any]], dict[str, Any]]] = {
    "collect_diagnostics": collect_diagnostics,
    "run_backup": run_backup,
}
