"""Global search: providers per domain, tenant and permission scoping, both match paths."""

from __future__ import annotations

import pytest

from app.models import Alert, Device, Network, SecurityIncident, ThreatIntelligence, db
from app.search import text
from app.search.registry import PROVIDERS, Hit, register_provider


@pytest.fixture(params=["trigram", "like"])
def mode(request, app):
    """Every test runs on both match paths: pg_trgm ILIKE and the LIKE fallback."""
    if request.param == "trigram" and db.engine.dialect.name != "postgresql":
        pytest.skip("trigram search needs PostgreSQL")
    app.config["SEARCH_MODE"] = request.param
    yield request.param
    app.config["SEARCH_MODE"] = "auto"


def seed(org_id: int, tag: str) -> dict[str, int]:
    network = Network(org_id=org_id, bssid=f"AA:BB:CC:00:00:{tag.upper()}", ssid=f"Cafe-{tag}-Guest", type="W",
                      firsttime_ms=0, lasttime_ms=0, lastlat=0, lastlon=0, encryption="wpa2")
    device = Device(org_id=org_id, hostname=f"scanner-{tag}.corp", device_name=f"Lobby scanner {tag}",
                    device_type="scanner", public_ip=f"198.51.100.{int(tag, 16)}")
    ioc = ThreatIntelligence(org_id=org_id, indicator_type="domain", indicator_value=f"evil-{tag}.example")
    incident = SecurityIncident(org_id=org_id, title=f"Phishing wave {tag}", severity="high", status="open")
    db.session.add_all([network, device, ioc, incident])
    db.session.flush()
    alert = Alert(org_id=org_id, device_id=device.id, target_key=f"dev-{tag}", target_label=f"scanner-{tag}.corp",
                  alert_type="device_offline", severity="critical", message="Device offline", status="open")
    db.session.add(alert)
    db.session.commit()
    return {"network": network.id, "device": device.id, "ioc": ioc.id, "incident": incident.id, "alert": alert.id}


def test_every_domain_has_a_provider(app):
    assert {"networks", "devices", "indicators", "users", "incidents", "alerts", "metrics", "sites"} <= set(PROVIDERS)


def test_results_grouped_by_type_and_linked(client, orgs, mode):
    ids = seed(orgs.a.org.id, "1a")
    client.login(orgs.a.users["analyst"].email)
    html = client.get("/search/?q=1a").get_data(as_text=True)
    for group in ("networks", "devices", "indicators", "incidents", "alerts"):
        assert f'data-search-group="{group}"' in html
    assert f'/wireless/networks/{ids["network"]}"' in html
    assert f'/fleet/devices/{ids["device"]}"' in html
    assert f'/threats/intel/{ids["ioc"]}"' in html
    assert f'/threats/incidents/{ids["incident"]}"' in html
    assert f'"/alerts/{ids["alert"]}"' in html


@pytest.mark.parametrize("term, group", [
    ("aa:bb:cc:00:00:2b", "networks"),   # BSSID, case-insensitive
    ("cafe-2b", "networks"),             # SSID
    ("lobby scanner 2b", "devices"),     # device name
    ("198.51.100.43", "devices"),        # public IP (0x2b)
    ("evil-2b", "indicators"),
    ("phishing wave 2b", "incidents"),
])
def test_finds_each_kind_of_value(client, orgs, mode, term, group):
    seed(orgs.a.org.id, "2b")
    client.login(orgs.a.users["analyst"].email)
    html = client.get("/search/", query_string={"q": term}).get_data(as_text=True)
    assert f'data-search-group="{group}"' in html


def test_search_is_isolated_between_organizations(client, orgs, mode):
    seed(orgs.a.org.id, "3a")
    seed(orgs.b.org.id, "3b")
    client.login(orgs.a.users["admin"].email)
    html = client.get("/search/?q=3b").get_data(as_text=True)
    assert "data-search-empty" in html
    for value in ("Cafe-3b", "scanner-3b", "evil-3b", "wave 3b"):
        assert value not in html
    # The same term from org B's side finds org B's rows.
    client.post("/auth/logout")
    client.login(orgs.b.users["admin"].email)
    html = client.get("/search/?q=3b").get_data(as_text=True)
    assert "Cafe-3b" in html and "scanner-3b" in html and "evil-3b" in html
    # Org B's users are not found from org A either.
    client.post("/auth/logout")
    client.login(orgs.a.users["admin"].email)
    html = client.get("/search/", query_string={"q": orgs.b.users["analyst"].email}).get_data(as_text=True)
    assert 'data-search-group="users"' not in html and f'/admin/users/{orgs.b.users["analyst"].id}"' not in html
    # ... but org A's own user is, for an admin.
    html = client.get("/search/", query_string={"q": orgs.a.users["analyst"].email}).get_data(as_text=True)
    assert 'data-search-group="users"' in html


def test_permissions_scope_the_groups(client, orgs, mode):
    seed(orgs.a.org.id, "4c")
    client.login(orgs.a.users["read_only"].email)
    html = client.get("/search/?q=4c").get_data(as_text=True)
    assert 'data-search-group="devices"' in html
    assert 'data-search-group="indicators"' not in html  # threats.view only
    assert 'data-search-group="incidents"' not in html
    html = client.get("/search/", query_string={"q": orgs.a.users["analyst"].email}).get_data(as_text=True)
    assert 'data-search-group="users"' not in html  # user.view is for admins


def test_wildcards_in_the_term_are_literal(client, orgs, mode):
    seed(orgs.a.org.id, "5d")
    client.login(orgs.a.users["analyst"].email)
    assert "data-search-empty" in client.get("/search/?q=%25%25").get_data(as_text=True)
    assert "data-search-empty" in client.get("/search/?q=__").get_data(as_text=True)


def test_a_value_links_to_its_entity_page(client, orgs):
    client.login(orgs.a.users["analyst"].email)
    html = client.get("/search/?q=203.0.113.7").get_data(as_text=True)
    assert 'data-search-group="entity"' in html and "/threats/entity?v=203.0.113.7" in html
    client.post("/auth/logout")
    client.login(orgs.a.users["read_only"].email)  # threats.view only
    assert 'data-search-group="entity"' not in client.get("/search/?q=203.0.113.7").get_data(as_text=True)


def test_short_term_asks_for_more(client, orgs):
    client.login(orgs.a.users["analyst"].email)
    html = client.get("/search/?q=a").get_data(as_text=True)
    assert f"at least {text.MIN_TERM} characters" in html


def test_dropdown_is_a_fragment_for_htmx(client, orgs, mode):
    seed(orgs.a.org.id, "6e")
    client.login(orgs.a.users["analyst"].email)
    response = client.get("/search/?q=6e&dropdown=1", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in html and "dropdown-item" in html
    assert "All results for" in html


def test_top_bar_has_the_box_and_the_shortcut_script(client, orgs):
    client.login(orgs.a.users["analyst"].email)
    html = client.get("/").get_data(as_text=True)
    assert 'data-search-box' in html and 'aria-keyshortcuts="/"' in html
    assert "js/search.js" in html
    assert "<script>" not in html  # no inline script (CSP)


def test_a_new_domain_registers_a_provider(client, orgs):
    def find(org_id: int, term: str, limit: int) -> list[Hit]:
        return [Hit(f"canary {term} in {org_id}", "/canary/1")] if term == "zz-canary" else []

    register_provider("canary_test", "Canary tokens", "data.read", find, order=99)
    try:
        client.login(orgs.a.users["analyst"].email)
        html = client.get("/search/?q=zz-canary").get_data(as_text=True)
        assert 'data-search-group="canary_test"' in html and f"in {orgs.a.org.id}" in html
    finally:
        PROVIDERS.pop("canary_test")
