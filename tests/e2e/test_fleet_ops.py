"""Fleet commands and backups in a real browser, with a real agent (over a simulated host)
enrolled against the same live server: the device page's Commands and Backups tabs load,
a queued command is run by the agent and shows completed, a recovery command waits for a
second admin, and an invalid cron expression is refused with its message."""

from __future__ import annotations

import random

import pytest

from tests.e2e.conftest import sign_in

try:
    from playwright.sync_api import expect
except ImportError:  # conftest's autouse fixture skips (or fails) every test, saying why
    expect = None

pytestmark = pytest.mark.e2e

ADMIN = "admin@northwind.example"


def test_commands_and_backups_tabs_with_a_real_agent(page, live_server, problems, artifacts):
    import sqlalchemy as sa

    from app.fleet import services
    from app.models import Organization, db
    from vigil_agent.config import StateFile
    from vigil_agent.runner import Agent
    from vigil_agent.simulate import FakeHost, simulated_actions

    with live_server.app.app_context():
        org_id = db.session.scalar(sa.select(Organization.id).where(Organization.slug == "northwind"))
        device, code = services.create_device(org_id, name="e2e-ops-box", device_type="server", actor_label="e2e")
        db.session.commit()
        device_id = device.id
        db.session.remove()
    host = FakeHost(900, "server", random.Random(5))
    agent = Agent(live_server.url, StateFile(None), host, simulated_actions(host, 0.0))
    agent.ensure_enrolled(code)
    agent.send_heartbeat()

    sign_in(page, ADMIN)
    page.goto(f"/fleet/devices/{device_id}")
    page.locator("#device-tabs").get_by_role("link", name="Commands").click()
    tab = page.locator("#device-commands")
    expect(tab.get_by_role("heading", name="Send a command")).to_be_visible()
    tab.get_by_label("Command").select_option("collect_diagnostics")
    tab.get_by_role("button", name="Queue command").click()
    expect(page).to_have_url(f"{live_server.url}/fleet/devices/{device_id}/tab/commands")  # back on the tab
    rows = page.locator("#command-rows tbody tr")
    expect(rows.first).to_contain_text("pending")
    assert agent.poll() == ["completed"]
    page.reload()
    expect(rows.first).to_contain_text("completed")
    expect(rows.first).to_contain_text("sim-server-0900")  # the diagnostics the agent reported

    page.get_by_label("Command").select_option("boot_recovery")
    page.get_by_role("button", name="Queue command").click()
    expect(rows.first).to_contain_text("awaiting approval")
    expect(rows.first.get_by_role("button", name="Approve")).to_have_count(0)  # not by the admin who issued it

    page.goto(f"/fleet/devices/{device_id}")
    page.locator("#device-tabs").get_by_role("link", name="Backups").click()
    backups = page.locator("#device-backups")
    expect(backups.get_by_role("heading", name="Retention preview (dry run)")).to_be_visible()
    backups.get_by_label("Backups on").check()
    backups.get_by_label("Mode").select_option("file")
    backups.get_by_label("Schedule (cron: minute hour day month weekday)").fill("0 25 * * *")
    problems.allow(rf"HTTP 422 POST {live_server.url}/fleet/devices/{device_id}/backups")
    problems.allow(r"console error: Failed to load resource: the server responded with a status of 422 .*/backups\)")
    backups.get_by_role("button", name="Save backup settings").click()
    expect(page.get_by_text("Not a valid cron expression.")).to_be_visible()
    page.get_by_label("Schedule (cron: minute hour day month weekday)").fill("30 1 * * *")
    page.get_by_label("Time zone").fill("Australia/Perth")
    page.get_by_role("button", name="Save backup settings").click()
    expect(page.get_by_text("Backup settings saved.")).to_be_visible()
    expect(page.locator("#device-backups")).to_contain_text("01:30 Australia/Perth")
    page.screenshot(path=str(artifacts / "fleet-backups.png"), full_page=True)
