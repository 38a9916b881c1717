"""The navigation registry drives a short top level, one collapsible group per domain and
the current domain's pages as tabs."""

from __future__ import annotations

import re

import pytest

from app.core import navigation
from app.core.navigation import NavSection, nav_tree, register_section, register_top


@pytest.fixture()
def registry(monkeypatch):
    """An empty registry for one test (the app's own stays untouched)."""
    monkeypatch.setattr(navigation, "SECTIONS", {})
    monkeypatch.setattr(navigation, "TOP_ORDER", {})
    return navigation


def everything(entries):
    return list(entries)


def test_top_level_is_home_then_registered_entries_then_the_rest(registry):
    register_section("home", "", 0, [("jobs.index", "list-task", "Jobs", "jobs.view"),
                                     ("dashboard.index", "speedometer2", "Dashboard", "dashboard.view")])
    register_top(("dashboard.index", "house", "Home", "dashboard.view"), 0)
    register_top(("search.index", "search", "Search", "dashboard.view"), 20)  # the hook others use
    register_top(("alerts.index", "bell", "Alerts", "dashboard.view"), 10)
    register_section("fleet", "Fleet", 40, [("fleet.dashboard", "speedometer2", "Fleet dashboard", "data.read"),
                                            ("fleet.index", "hdd", "Inventory", "data.read")])
    register_section("threats", "Threat operations", 20, [("threats.overview", "activity", "Overview", "t")])
    tree = nav_tree(everything, "fleet.index")
    assert [label for _, _, label, _ in tree.top] == ["Home", "Alerts", "Search", "Jobs"]
    assert [(g.title, g.active, g.icon) for g in tree.groups] == [
        ("Threat operations", False, "activity"), ("Fleet", True, "speedometer2")]
    assert [e[0] for e in tree.tabs] == ["fleet.dashboard", "fleet.index"]
    # A page in a one-page domain, or outside every domain, has no tabs.
    assert nav_tree(everything, "threats.overview").tabs == []
    assert nav_tree(everything, "dashboard.index").tabs == []


def test_hidden_entries_leave_no_empty_group(registry):
    register_section("admin", "Administration", 90, [("admin.users", "people", "Users", "user.view")])
    tree = nav_tree(lambda entries: [e for e in entries if e[3] != "user.view"], None)
    assert tree.groups == [] and tree.top == []
    assert NavSection("x", "X", 1).section_icon == "folder"


def test_pages_show_groups_and_domain_tabs(client, orgs):
    client.login(orgs.a.users["admin"].email)
    html = client.get("/fleet/").get_data(as_text=True)
    side = html[html.index("data-nav-groups"):html.index("</aside>")]
    assert re.search(r'<details class="nav-group" data-nav-group="fleet" open data-nav-active>', side)
    assert '<details class="nav-group" data-nav-group="admin" >' in side  # closed: not this page's domain
    assert side.index("> Home</a>") < side.index("<details")  # Home first, above the domains
    tabs = html[html.index('class="domain-tabs'):]
    tabs = tabs[: tabs.index("</nav>")]
    assert "Fleet dashboard" in tabs and "Maintenance windows" in tabs and 'aria-current="page"' in tabs
    assert "Security overview" not in tabs  # only this domain's pages
    assert "js/nav.js" in html and "<script>" not in html
    dashboard = client.get("/").get_data(as_text=True)
    assert 'class="domain-tabs' not in dashboard and "data-nav-active" not in dashboard


def test_the_real_top_level_is_home_alerts_search(client, orgs):
    """Issue 12.9: a short top level (Home, Alerts, Search), then the domains; housekeeping
    pages (Jobs, Notifications) sit with Administration."""
    client.login(orgs.a.users["admin"].email)
    html = client.get("/").get_data(as_text=True)
    side = html[html.index("data-nav-groups"):html.index("</aside>")]
    top = side[: side.index("<details")]
    assert re.findall(r"</i> ([A-Za-z ]+)</a>", top) == ["Home", "Alerts", "Search"]
    admin = side[side.index('data-nav-group="admin"'):]
    assert "> Jobs</a>" in admin and "> Notifications</a>" in admin
