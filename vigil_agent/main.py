"""`vigil-agent`: the agent's own entry point on a server (no console, no Flask).

    vigil-agent run --server https://vigil.example --claim-code CODE   # the first time
    vigil-agent run                                                    # afterwards (systemd)
"""

from __future__ import annotations

import argparse
import logging
import sys

from vigil_agent import __version__
from vigil_agent.client import AgentHttpError
from vigil_agent.collect import HostCollector
from vigil_agent.config import StateFile, default_path
from vigil_agent.runner import Agent, AgentError


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="vigil-agent", description="The Vigil fleet agent.")
    top.add_argument("--version", action="version", version=f"vigil-agent {__version__}")
    commands = top.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="Enrol (once), then send heartbeats and run allowed, signed commands.")
    run.add_argument("--server", default=None, help="The Vigil console's base URL (saved after enrolment).")
    run.add_argument("--claim-code", default=None, help="The one-time claim code (only the first time).")
    run.add_argument("--re-enrol", dest="re_enrol", action="store_true",
                     help="With --claim-code: drop a saved enrolment with another server and enrol anew.")
    run.add_argument("--once", action="store_true", help="One heartbeat and one command poll, then exit.")
    run.add_argument("--config", default=None, help="The state file (default /etc/vigil-agent/agent.json as root).")
    run.add_argument("--verbose", action="store_true")
    return top


def main(argv: list[str] | None = None) -> int:
    """Run the agent; exit 3 when the console refuses it, 4 when it cannot be reached."""
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose or not args.once else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(message)s")
    state_file = StateFile(args.config or default_path())
    saved = state_file.load()
    server = args.server or (saved.server if saved else None)
    if not server:
        print("vigil-agent: pass --server the first time", file=sys.stderr)
        return 2
    try:
        agent = Agent(server, state_file, HostCollector())
        agent.ensure_enrolled(args.claim_code, re_enrol=args.re_enrol)
        agent.run(once=args.once)
    except AgentError as exc:
        print(f"vigil-agent: {exc}", file=sys.stderr)
        return 3
    except AgentHttpError as exc:
        print(f"vigil-agent: cannot reach the server: {exc}", file=sys.stderr)
        return 4
    except KeyboardInterrupt:
        return 0
    if args.once:
        print(f"device {agent.state.device_id}: heartbeat sent, commands polled ({state_file.path})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
