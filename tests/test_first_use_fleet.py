"""Install commands point at this server (issue 12): the claim-code page and
`vigil fleet claim-code` use VIGIL_PUBLIC_URL, or say they guess; an agent enrolled with one
server refuses another server's claim code unless told to re-enrol."""

from __future__ import annotations

import json

import pytest

from app.fleet import services
from app.models import Device, db
from tests.test_agent import new_code, server  # noqa: F401 - the real-HTTP server fixture


def reissue(client, org_id: int, base_url: str = "http://localhost") -> str:
    device, _ = new_code(org_id, "edge-1")
    response = client.post(f"/fleet/devices/{device.id}/claim-code", base_url=base_url)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_claim_code_page_guesses_the_address_in_use_when_unset(client, orgs, app):
    app.config["PUBLIC_BASE_URL_SET"] = False
    client.login(orgs.a.users["admin"].email)
    html = reissue(client, orgs.a.org.id, base_url="http://localhost:8123")
    assert "vigil agent run --server http://localhost:8123 --claim-code " in html
    assert 'id="server-guessed"' in html and "VIGIL_PUBLIC_URL</code> is not set" in html


def test_claim_code_page_uses_the_configured_public_url(client, orgs, app):
    app.config.update(PUBLIC_BASE_URL_SET=True, PUBLIC_BASE_URL="https://vigil.example.com/")
    client.login(orgs.a.users["admin"].email)
    html = reissue(client, orgs.a.org.id)
    assert "--server https://vigil.example.com --claim-code" in html and 'id="server-guessed"' not in html


def test_cli_claim_code_says_when_it_guesses(app, orgs):
    runner = app.test_cli_runner()
    app.config.update(PUBLIC_BASE_URL_SET=False, PUBLIC_BASE_URL="http://127.0.0.1:5000")
    guessed = runner.invoke(args=["fleet", "claim-code", "--org", orgs.a.org.slug, "--name", "cli-1", "--type", "server"])
    assert guessed.exit_code == 0, guessed.output
    assert "--server http://127.0.0.1:5000 --claim-code" in guessed.output
    assert "VIGIL_PUBLIC_URL is not set" in guessed.output and "is a guess" in guessed.output
    given = runner.invoke(args=["fleet", "claim-code", "--org", orgs.a.org.slug, "--name", "cli-2", "--type", "server",
                                "--server", "https://edge.example"])
    assert "--server https://edge.example --claim-code" in given.output and "guess" not in given.output
    app.config.update(PUBLIC_BASE_URL_SET=True, PUBLIC_BASE_URL="https://vigil.example.com")
    configured = runner.invoke(args=["fleet", "claim-code", "--org", orgs.a.org.slug, "--name", "cli-3", "--type", "server"])
    assert "--server https://vigil.example.com --claim-code" in configured.output and "guess" not in configured.output


def test_simulate_help_names_the_readme_setting(app):
    readme = (__import__("pathlib").Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "`VIGIL_PUBLIC_URL`" in readme
    out = app.test_cli_runner().invoke(args=["agent", "simulate", "--help"]).output
    assert "VIGIL_PUBLIC_URL" in out and "PUBLIC_BASE_URL" not in out


@pytest.mark.usefixtures("server")
def test_agent_refuses_another_servers_claim_code_unless_told_to_re_enrol(app, server, orgs, tmp_path):  # noqa: F811
    first, code = new_code(orgs.a.org.id, "moving-host")
    config = tmp_path / "agent.json"
    runner = app.test_cli_runner()
    assert runner.invoke(args=["agent", "run", "--server", server, "--claim-code", code, "--once",
                               "--config", str(config)]).exit_code == 0
    # The same server under another name (localhost instead of 127.0.0.1) with a new code.
    other = server.replace("127.0.0.1", "localhost")
    second, code2 = new_code(orgs.b.org.id, "moving-host-2")
    refused = runner.invoke(args=["agent", "run", "--server", other, "--claim-code", code2, "--once",
                                  "--config", str(config)])
    assert refused.exit_code == 3
    assert f"enrolled with {server} as device {first.id}" in refused.output and "--re-enrol" in refused.output
    assert json.loads(config.read_text())["device_id"] == first.id  # nothing changed
    assert runner.invoke(args=["agent", "run", "--server", other, "--re-enrol", "--once",
                               "--config", str(config)]).exit_code == 3  # a re-enrolment needs a code
    # (One database plays both servers here: the first device goes, so this hardware may enrol again.)
    services.delete_device(db.session.get(Device, first.id), orgs.a.users["admin"])
    db.session.commit()
    moved = runner.invoke(args=["agent", "run", "--server", other, "--claim-code", code2, "--re-enrol", "--once",
                                "--config", str(config)])
    assert moved.exit_code == 0, moved.output
    saved = json.loads(config.read_text())
    assert saved["device_id"] == second.id and saved["server"] == other
    # The same server with a trailing slash and a (used) code is no other server: the key is kept.
    again = runner.invoke(args=["agent", "run", "--server", other + "/", "--claim-code", code2, "--once",
                                "--config", str(config)])
    assert again.exit_code == 0, again.output
