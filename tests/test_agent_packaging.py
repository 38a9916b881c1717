"""The agent installs and runs without the console: its modules import nothing of the
console (no app, Flask or SQLAlchemy), its own pyproject needs only its own dependencies at
the console's version, and the "add device" page serves a pinned installer, the matching
source tarball and the systemd unit."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import tarfile
import tomllib
from pathlib import Path

import vigil_agent
from app.fleet import agent_package

ROOT = Path(__file__).resolve().parent.parent
AGENT_MODULES = ["main", "runner", "actions", "host_actions", "restic", "gmp", "policy", "client", "collect",
                 "config", "protocol", "errors", "simulate"]


def test_the_agent_imports_nothing_of_the_console():
    code = ("import sys\n"
            f"for name in {AGENT_MODULES!r}: __import__('vigil_agent.' + name)\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('app', 'flask', 'sqlalchemy', 'werkzeug'))\n"
            "print(','.join(bad))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip() == ""


def test_the_agent_package_has_only_its_own_dependencies_at_the_console_version():
    agent = tomllib.loads((ROOT / "vigil_agent" / "pyproject.toml").read_text())["project"]
    console = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert agent["version"] == console["version"] == vigil_agent.__version__
    assert sorted(d.split("==")[0] for d in agent["dependencies"]) == ["cryptography", "psutil"]
    pins = {d.split("==")[0]: d for d in console["dependencies"]}
    assert all(pins[d.split("==")[0]] == d for d in agent["dependencies"])  # the versions the console tested
    assert agent["scripts"]["vigil-agent"] == "vigil_agent.main:main"
    done = subprocess.run([sys.executable, "-m", "vigil_agent.main", "--version"], capture_output=True, text=True,
                          cwd=ROOT, check=True)
    assert done.stdout.strip() == f"vigil-agent {vigil_agent.__version__}"


def test_the_installer_and_tarball_are_served_pinned_to_the_console_version(client):
    script = client.get("/fleet/agent/install.sh")
    assert script.status_code == 200 and script.mimetype == "text/x-shellscript"
    text = script.get_data(as_text=True)
    name = f"vigil-agent-{vigil_agent.__version__}.tar.gz"
    assert f"/fleet/agent/{name}" in text and f'VERSION="{vigil_agent.__version__}"' in text
    assert "systemctl enable --now vigil-agent.service" in text and "reboot = false" in text
    assert subprocess.run(["sh", "-n"], input=text, text=True, check=False).returncode == 0
    tarball = client.get(f"/fleet/agent/{name}")
    assert tarball.status_code == 200 and tarball.data == agent_package.tarball()
    with tarfile.open(fileobj=io.BytesIO(tarball.data)) as tar:
        names = set(tar.getnames())
    prefix = f"vigil-agent-{vigil_agent.__version__}/"
    assert {prefix + f for f in ("pyproject.toml", "main.py", "protocol.py", "vigil-agent.service")} <= names
    assert client.get("/fleet/agent/vigil-agent-0.0.1.tar.gz").status_code == 404


def test_the_systemd_unit_runs_the_installed_agent():
    unit = (ROOT / "vigil_agent" / "vigil-agent.service").read_text()
    assert "ExecStart=/opt/vigil-agent/bin/vigil-agent run --config /etc/vigil-agent/agent.json" in unit
    assert "NoNewPrivileges=yes" in unit and "WantedBy=multi-user.target" in unit


def test_the_add_device_page_shows_the_installer_with_the_claim_code(client, orgs):
    client.login(orgs.a.users["operator"].email)
    page = client.post("/fleet/devices/new", data={"name": "edge-pkg", "device_type": "server",
                                                   "environment": "production"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    code = re.search(r'id="claim-code">([^<]+)<', html).group(1)
    line = re.search(r'id="agent-installer">([^<]+)<', html).group(1)
    assert line.endswith(f"/fleet/agent/install.sh | sh -s -- --claim-code {code}")
