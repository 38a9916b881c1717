"""The heartbeat's lean path for device keys (issue 18.3): the key's device is cached per
process, yet a revoked or expired key, or a suspended, removed or moved device, is refused
on the very next heartbeat; the key's use is still counted, and a new source address still
goes through the full check (and its threat-intel matching)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.api import tokens
from app.auth.api_keys import digest
from app.models import ApiKey, Device, Heartbeat, db, utcnow
from tests.test_fleet import bearer, enrolled, heartbeat


def key_row(device_id: int) -> ApiKey:
    return db.session.scalar(sa.select(ApiKey).where(ApiKey.device_id == device_id))


def stored(device_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count(Heartbeat.id)).where(Heartbeat.device_id == device_id))


def warm(client, agent: dict) -> None:
    """Two accepted heartbeats: the key is then in this process's cache."""
    for _ in range(2):
        assert client.post("/api/agent/heartbeat", headers=bearer(agent["api_key"]), json=heartbeat()).status_code == 202
    assert tokens.device_keys.get(digest(agent["api_key"])) is not None


def refused(client, agent: dict) -> None:
    before = stored(agent["device_id"])
    response = client.post("/api/agent/heartbeat", headers=bearer(agent["api_key"]), json=heartbeat())
    assert response.status_code == 401 and response.json["error"]["code"] == "invalid_api_key"
    db.session.expire_all()
    assert stored(agent["device_id"]) == before
    assert tokens.device_keys.get(digest(agent["api_key"])) is None  # dropped from the cache


def test_a_cached_key_counts_its_use_and_stores_every_heartbeat(client, orgs):
    agent = enrolled(client, orgs.a.org.id)
    warm(client, agent)
    used = key_row(agent["device_id"]).usage_count
    for _ in range(3):
        response = client.post("/api/agent/heartbeat", headers=bearer(agent["api_key"]), json=heartbeat())
        assert response.status_code == 202 and response.json["device_id"] == agent["device_id"]
    db.session.expire_all()
    key = key_row(agent["device_id"])
    assert key.usage_count == used + 3 and key.last_used_ip == "127.0.0.1"
    assert stored(agent["device_id"]) == 5


def test_revoking_a_cached_key_takes_effect_on_the_next_heartbeat(client, orgs):
    agent = enrolled(client, orgs.a.org.id)
    warm(client, agent)
    key = key_row(agent["device_id"])
    key.revoked_at = utcnow()
    db.session.commit()
    refused(client, agent)
    refused(client, agent)  # and stays refused once out of the cache


def test_an_expired_cached_key_is_refused(client, orgs):
    agent = enrolled(client, orgs.a.org.id)
    warm(client, agent)
    key = key_row(agent["device_id"])
    key.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    refused(client, agent)


@pytest.mark.parametrize("change", ["suspended", "decommissioned", "deleted", "other_org"])
def test_a_device_out_of_service_is_refused_on_the_next_heartbeat(client, orgs, change):
    agent = enrolled(client, orgs.a.org.id)
    warm(client, agent)
    device = db.session.get(Device, agent["device_id"])
    if change == "deleted":
        device.soft_delete()
    elif change == "other_org":
        device.org_id = orgs.b.org.id
    else:
        device.status = change
    db.session.commit()
    refused(client, agent)


def test_a_key_removed_through_the_console_stops_at_once(client, orgs):
    agent = enrolled(client, orgs.a.org.id)
    warm(client, agent)
    client.login(orgs.a.users["operator"].email)
    assert client.post(f"/fleet/devices/{agent['device_id']}/delete").status_code == 303
    refused(client, agent)


def test_a_new_source_address_takes_the_full_check(client, orgs):
    agent = enrolled(client, orgs.a.org.id)
    warm(client, agent)
    used = key_row(agent["device_id"]).usage_count
    response = client.post("/api/agent/heartbeat", headers=bearer(agent["api_key"]), json=heartbeat(),
                           environ_overrides={"REMOTE_ADDR": "198.51.100.7"})
    assert response.status_code == 202
    db.session.expire_all()
    key = key_row(agent["device_id"])
    assert key.last_used_ip == "198.51.100.7" and key.usage_count == used + 1
    assert db.session.get(Device, agent["device_id"]).public_ip == "198.51.100.7"
    # Back on the lean path from the new address.
    again = client.post("/api/agent/heartbeat", headers=bearer(agent["api_key"]), json=heartbeat(),
                        environ_overrides={"REMOTE_ADDR": "198.51.100.7"})
    assert again.status_code == 202
    db.session.expire_all()
    assert key_row(agent["device_id"]).usage_count == used + 2


def test_a_cached_key_of_another_device_cannot_post_for_it(client, orgs):
    mine = enrolled(client, orgs.a.org.id, serial="SN-1", name="scanner-1")
    other = enrolled(client, orgs.a.org.id, serial="SN-2", name="scanner-2")
    warm(client, mine)
    response = client.post("/api/agent/heartbeat", headers=bearer(mine["api_key"]),
                           json=heartbeat(device_id=other["device_id"]))
    assert response.status_code == 403 and response.json["error"]["code"] == "wrong_device"
    assert stored(other["device_id"]) == 0
