"""The host-changing commands through the real agent and a real Vigil server on 127.0.0.1,
against fake systemctl, docker, hostnamectl, shutdown, grub-reboot and pip placed first on
PATH (each records how it was called). Limits hold (allowlist, socket, index, recovery
entry), and a switched-off or unsigned command never runs anything."""

from __future__ import annotations

import socket

import pytest

from app.fleet import commands
from app.models import Command, Device, db
from tests.test_agent import new_code, server  # noqa: F401 - the real-server fixture
from vigil_agent.collect import HostCollector
from vigil_agent.config import StateFile
from vigil_agent.runner import Agent

FAKES = ("systemctl", "docker", "hostnamectl", "shutdown", "grub-reboot")


@pytest.fixture()
def host(server, orgs, tmp_path, monkeypatch):  # noqa: F811 - pytest fixture injection
    bin_dir, calls = tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir()
    for name in FAKES:
        script = bin_dir / name
        script.write_text(f'#!/bin/sh\necho "{name} $*" >> "{calls}"\n'
                          + ('echo "Total reclaimed space: 1.5GB"\n' if name == "docker" else ""))
        script.chmod(0o755)
    pip = bin_dir / "fake-pip"
    pip.write_text(f'#!/bin/sh\necho "pip $*" >> "{calls}"\n[ "$1" = show ] && echo "Version: 9.9.9"\nexit 0\n')
    pip.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    _, code = new_code(orgs.a.org.id)
    agent = Agent(server, StateFile(tmp_path / "state" / "agent.json"), HostCollector())
    agent.ensure_enrolled(code)
    policy = tmp_path / "state" / "policy.toml"
    return agent, db.session.get(Device, agent.state.device_id), policy, calls, pip, orgs


def calls_of(path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def send(agent, device, kind, payload=None, approver=None) -> tuple[str, Command]:
    command = commands.issue(device, kind, payload or {}, None, actor_label="test")
    if approver is not None:
        commands.approve(command, approver)
    db.session.commit()
    [outcome] = agent.poll()
    db.session.expire_all()
    return outcome, db.session.get(Command, command.id)


def test_restart_services_only_restarts_allowlisted_units(host):
    agent, device, policy, calls, _, _ = host
    policy.write_text('[restart_services]\nallow = ["nginx", "postgresql"]\n')
    outcome, row = send(agent, device, "restart_services", {"services": ["nginx", "sshd"]})
    assert outcome == "failed" and "sshd" in row.error_message and calls_of(calls) == []
    outcome, row = send(agent, device, "restart_services", {"services": ["nginx", "postgresql"]})
    assert outcome == "completed" and row.result == {"restarted": ["nginx", "postgresql"]}
    assert calls_of(calls) == ["systemctl restart -- nginx", "systemctl restart -- postgresql"]


def test_docker_prune_needs_the_socket(host, tmp_path):
    agent, device, policy, calls, _, _ = host
    sock_path = tmp_path / "docker.sock"
    policy.write_text(f'[docker]\nsocket = "{sock_path}"\n')
    outcome, row = send(agent, device, "docker_prune")
    assert outcome == "failed" and "no Docker socket" in row.error_message and calls_of(calls) == []
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(sock_path))
    try:
        outcome, row = send(agent, device, "docker_prune")
    finally:
        listener.close()
    assert outcome == "completed" and row.result["reclaimed"] == "1.5GB"
    assert calls_of(calls) == [f"docker -H unix://{sock_path} system prune --force"]


def test_hostname_reboot_and_shutdown(host):
    agent, device, _, calls, _, orgs = host
    assert send(agent, device, "change_hostname", {"hostname": "web-02"})[0] == "completed"
    outcome, row = send(agent, device, "reboot")
    assert outcome == "completed" and row.result["scheduled"] == "reboot in 1 minute"
    assert send(agent, device, "shutdown")[0] == "completed"
    assert calls_of(calls) == ["hostnamectl set-hostname -- web-02",
                               f"shutdown -r +1 Vigil: reboot requested (command {row.id})",
                               f"shutdown -h +1 Vigil: shutdown requested (command {row.id + 1})"]


def test_boot_recovery_refuses_without_a_configured_entry(host):
    agent, device, policy, calls, _, orgs = host
    admin = orgs.a.users["admin"]
    outcome, row = send(agent, device, "boot_recovery", approver=admin)
    assert outcome == "failed" and "no recovery boot entry" in row.error_message and calls_of(calls) == []
    policy.write_text('[boot_recovery]\nentry = "Debian GNU/Linux, recovery mode"\n')
    outcome, row = send(agent, device, "boot_recovery", approver=admin)
    assert outcome == "completed" and calls_of(calls) == ["grub-reboot Debian GNU/Linux, recovery mode"]


def test_update_agent_upgrades_from_the_configured_index_then_restarts(host):
    agent, device, policy, calls, pip, _ = host
    outcome, row = send(agent, device, "update_agent")
    assert outcome == "failed" and "no package index" in row.error_message and calls_of(calls) == []
    policy.write_text(f'[update_agent]\nindex_url = "https://pypi.example/simple"\npip = ["{pip}"]\n')
    outcome, row = send(agent, device, "update_agent")
    assert outcome == "completed" and row.result["version_after"] == "9.9.9" and row.result["restart"]
    assert "version_before" in row.result
    assert calls_of(calls) == ["pip install --upgrade --index-url https://pypi.example/simple vigil-agent",
                               "pip show vigil-agent", "systemctl restart --no-block -- vigil-agent.service"]


def test_switched_off_and_unsigned_commands_never_run(host):
    agent, device, policy, calls, _, _ = host
    policy.write_text("[actions]\nreboot = false\nchange_hostname = false\n")
    outcome, row = send(agent, device, "reboot")
    assert outcome == "disabled" and "switched off" in row.error_message
    assert send(agent, device, "change_hostname", {"hostname": "evil"})[0] == "disabled"
    policy.write_text("")
    command = commands.issue(device, "shutdown", {}, None, actor_label="test")
    db.session.commit()
    envelope = {**commands.envelope(command), "signature": command.command_signature}
    assert agent.handle({**envelope, "type": "reboot"}) == "refused: the signature does not verify"
    assert agent.handle({**envelope, "signature": None}) == "refused: the signature does not verify"
    assert calls_of(calls) == []
    policy.write_text("[actions]\nreboot = [broken\n")
    assert send(agent, device, "reboot")[0] == "refused: policy unreadable" and calls_of(calls) == []
