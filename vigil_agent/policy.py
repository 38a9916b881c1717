"""What the host's operator allows this agent to do: a TOML file the operator owns
(`/etc/vigil-agent/policy.toml` as root, or beside the state file, or VIGIL_AGENT_POLICY).

The server never writes it. Every action can be switched off here, and the switches are
read again before each command, so editing the file takes effect without a restart:

    [actions]              # each true/false; a missing name is on
    reboot = false
    [restart_services]
    allow = ["nginx", "postgresql"]   # only these units, nothing when empty
    [update_agent]
    index_url = "https://pypi.org/simple"
    [boot_recovery]
    entry = "Debian GNU/Linux (recovery mode)"  # refused while unset
    [scanner]
    gmp_socket = "/run/gvmd/gvmd.sock"
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class PolicyError(Exception):
    """The operator's policy file cannot be read; the agent refuses every action until it can."""


def default_policy_path(state_path: Path | None) -> Path | None:
    if os.environ.get("VIGIL_AGENT_POLICY"):
        return Path(os.environ["VIGIL_AGENT_POLICY"])
    if state_path is None:
        return None
    return state_path.with_name("policy.toml")


@dataclass
class Policy:
    actions: dict[str, bool] = field(default_factory=dict)
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)

    def allows(self, action: str) -> bool:
        return bool(self.actions.get(action, True))

    def section(self, name: str) -> dict[str, Any]:
        return self.sections.get(name, {})


def load_policy(path: Path | None) -> Policy:
    """The policy in `path` (everything on, nothing configured, when there is no file)."""
    if path is None or not path.exists():
        return Policy()
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PolicyError(f"cannot read the policy file {path}: {exc}") from exc
    actions = data.get("actions", {})
    if not isinstance(actions, dict) or not all(isinstance(v, bool) for v in actions.values()):
        raise PolicyError(f"{path}: [actions] takes name = true/false")
    return Policy(actions=dict(actions), sections={k: v for k, v in data.items() if isinstance(v, dict)})
