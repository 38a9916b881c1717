"""The security overview: real counts, the chart's data, risky users, and isolation."""

from __future__ import annotations

import html
import json
import re

from app.models import db
from app.threats.intel import add_indicator


def test_overview_counts_and_chart_data(client, orgs):
    client.login(orgs.b.users["analyst"].email)  # an event in another org must not count
    client.post("/auth/logout")
    add_indicator(orgs.a.org.id, "ip", "203.0.113.50", confidence=40)  # a hit, but not enough to deny
    db.session.commit()
    client.environ_base["REMOTE_ADDR"] = "203.0.113.50"
    client.login(orgs.a.users["analyst"].email, "wrong-password-1")
    client.login(orgs.a.users["analyst"].email)
    page = client.get("/threats/overview").get_data(as_text=True)
    chart = json.loads(html.unescape(re.search(r'data-chart-data="([^"]+)"', page).group(1)))
    assert len(chart["labels"]) == 24
    total = sum(sum(v) for v in chart["series"].values())
    count = int(re.search(r'data-count="events_24h">(\d+)<', page).group(1))
    assert total == count == 2  # a failed and a successful sign-in of org A only
    assert orgs.a.users["analyst"].email in page and "203.0.113.50" in page
    assert orgs.b.users["analyst"].email not in page
    fragment = client.get("/threats/overview", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and "data-chart-data" in fragment
