"""The only actions this agent runs; anything else a server asks for is reported back as
unsupported. Those that change the host (host_actions.py) run only when the host's
operator has not switched them off in the policy file, and each checks its own limits
(the restart allowlist, a configured index or recovery entry)."""

from __future__ import annotations

import os
import platform
import socket
import sys
import time
from collections.abc import Callable
from typing import Any

import psutil

from vigil_agent import restic
from vigil_agent.errors import ActionError
from vigil_agent.host_actions import HOST_ACTIONS

__all__ = ["ALLOWLIST", "ActionError"]



def collect_diagnostics(agent: Any, payload: dict[str, Any]) -> dict[str, Any]:
    """A read-only snapshot of the host and the agent."""
    root = psutil.disk_usage("/")
    return {"hostname": socket.gethostname(), "python": sys.version.split()[0], "platform": platform.platform(),
            "uptime_seconds": int(time.time() - psutil.boot_time()), "cpu_count": psutil.cpu_count(),
            "load": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
            "disk_root_percent": root.percent, "process_count": len(psutil.pids()),
            "agent_config": str(agent.state_file.path) if agent.state_file.path else None}


ALLOWLIST: dict[str, Callable[[Any, dict[str, Any]], dict[str, Any]]] = {
    "collect_diagnostics": collect_diagnostics,
    "run_backup": restic.run_backup,
    "forget_snapshots": restic.forget_snapshots,
    "restore_test": restic.restore_test,
    **HOST_ACTIONS,
}
