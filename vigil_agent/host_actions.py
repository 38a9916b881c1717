"""The actions that change the host, each behind the operator's policy file (policy.py):
restart allowlisted services, prune Docker, upgrade the agent, rename the host, reboot or
shut down a minute ahead (so the result is reported first) and prepare the recovery boot
entry. They run only after the command's device, signature, expiry and nonce were checked
(runner.py) and the policy allows them; each logs what it runs on the host."""

from __future__ import annotations

import logging
import re
import shutil
import socket
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from vigil_agent.errors import ActionError
from vigil_agent.policy import Policy, load_policy

log = logging.getLogger("vigil.agent")
TIMEOUT = 120
UNIT = re.compile(r"^[\w@.:-]{1,100}$")
HOSTNAME = re.compile(r"^(?=.{1,63}$)[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$")
DOCKER_SOCKET = "/var/run/docker.sock"
AGENT_PACKAGE = "vigil-agent"  # the distribution vigil_agent/pyproject.toml builds
AGENT_UNIT = "vigil-agent.service"


def _policy(agent: Any) -> Policy:
    return load_policy(agent.policy_path)


def run(args: list[str], timeout: int = TIMEOUT) -> str:
    """Run one program (found on PATH), logged on the host; ActionError when it fails."""
    program = shutil.which(args[0])
    if program is None:
        raise ActionError(f"{args[0]} is not available on this host")
    log.info("running: %s", " ".join(args))
    try:
        done = subprocess.run([program, *args[1:]], capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise ActionError(f"{args[0]} did not finish within {timeout} s") from exc
    except OSError as exc:
        raise ActionError(f"cannot run {args[0]}: {exc}") from exc
    if done.returncode != 0:
        raise ActionError(f"{' '.join(args)} failed ({done.returncode}): {(done.stderr or done.stdout).strip()[-1000:]}")
    return done.stdout.strip()


def restart_services(agent: Any, payload: dict[str, Any]) -> dict[str, Any]:
    """systemctl restart each named unit, only when every one is in the host's allowlist."""
    names = payload.get("services") or []
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and UNIT.match(n) for n in names):
        raise ActionError("services: a list of unit names")
    allow = set(_policy(agent).section("restart_services").get("allow") or [])
    refused = [n for n in names if n not in allow]
    if refused:
        raise ActionError(f"not in this host's restart allowlist: {', '.join(refused)} (nothing was restarted)")
    for name in names:
        run(["systemctl", "restart", "--", name])
    return {"restarted": names}


def docker_prune(agent: Any, payload: dict[str, Any]) -> dict[str, Any]:
    """Remove stopped containers, unused networks and dangling images through the Docker socket."""
    sock = str(_policy(agent).section("docker").get("socket") or DOCKER_SOCKET)
    if not Path(sock).is_socket():
        raise ActionError(f"no Docker socket at {sock}: nothing to prune")
    output = run(["docker", "-H", f"unix://{sock}", "system", "prune", "--force"], timeout=600)
    reclaimed = next((line.split(":", 1)[1].strip() for line in output.splitlines()
                      if line.lower().startswith("total reclaimed space")), None)
    return {"reclaimed": reclaimed, "output": output[-2000:]}


def _installed_version(section: dict[str, Any]) -> str | None:
    pip = list(section.get("pip") or [sys.executable, "-m", "pip"])
    try:
        shown = run([*pip, "show", AGENT_PACKAGE])
    except ActionError:
        return None
    return next((line.split(":", 1)[1].strip() for line in shown.splitlines() if line.startswith("Version:")), None)


def update_agent(agent: Any, payload: dict[str, Any]) -> dict[str, Any]:
    """Upgrade the agent from the configured package index, then restart the service once the
    result is reported. Refused while no index is configured."""
    section = _policy(agent).section("update_agent")
    index = section.get("index_url")
    if not isinstance(index, str) or not index.startswith(("https://", "http://", "file:")):
        raise ActionError("no package index is configured for updates ([update_agent] index_url in the policy)")
    try:
        before = metadata.version(AGENT_PACKAGE)
    except metadata.PackageNotFoundError:
        before = None
    pip = list(section.get("pip") or [sys.executable, "-m", "pip"])
    run([*pip, "install", "--upgrade", "--index-url", index, AGENT_PACKAGE], timeout=900)
    after = _installed_version(section)
    unit = str(section.get("unit") or AGENT_UNIT)
    if after != before:
        agent.after_report.append(lambda: run(["systemctl", "restart", "--no-block", "--", unit]))
    return {"version_before": before, "version_after": after, "restart": after != before}


def change_hostname(agent: Any, payload: dict[str, Any]) -> dict[str, Any]:
    name = payload.get("hostname")
    if not isinstance(name, str) or not HOSTNAME.match(name):
        raise ActionError("hostname: letters, digits and hyphens, at most 63")
    old = socket.gethostname()
    run(["hostnamectl", "set-hostname", "--", name])
    return {"hostname_before": old, "hostname": name}


def _power(kind: str, flag: str, agent: Any) -> dict[str, Any]:
    message = f"Vigil: {kind} requested (command {agent.current_command_id})"
    run(["shutdown", flag, "+1", message])
    return {"scheduled": f"{kind} in 1 minute", "cancel_with": "shutdown -c"}


def reboot(agent: Any, payload: dict[str, Any]) -> dict[str, Any]:
    """Reboot a minute from now, so the result reaches the server first."""
    return _power("reboot", "-r", agent)


def shutdown(agent: Any, payload: dict[str, Any]) -> dict[str, Any]:
    """Power off a minute from now, so the result reaches the server first."""
    return _power("shutdown", "-h", agent)


def boot_recovery(agent: Any, payload: dict[str, Any]) -> dict[str, Any]:
    """Make the configured recovery entry the next boot's (once, grub-reboot); refused when
    the operator configured none. It does not reboot: a reboot command does that."""
    section = _policy(agent).section("boot_recovery")
    entry = section.get("entry")
    if not isinstance(entry, str) or not entry.strip():
        raise ActionError("no recovery boot entry is configured on this host ([boot_recovery] entry in the policy)")
    run([str(section.get("command") or "grub-reboot"), entry])
    return {"next_boot": entry}


HOST_ACTIONS = {
    "restart_services": restart_services, "docker_prune": docker_prune, "update_agent": update_agent,
    "change_hostname": change_hostname, "reboot": reboot, "shutdown": shutdown, "boot_recovery": boot_recovery,
}
