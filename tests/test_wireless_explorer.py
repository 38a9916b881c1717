"""The networks explorer page and its streaming exports: table, HTMX fragment, pagination,
bad input, CSV/JSON/GeoJSON content, streaming, audit, permissions and tenant isolation."""

from __future__ import annotations

import csv
import io
import json

import sqlalchemy as sa

from app.models import AuditLog, db
from app.wireless import explorer
from app.wireless.filters import parse_filters
from tests.wireless_explorer_data import network, source


def seed(org_id: int, n: int = 3, **kw):
    src = source(org_id)
    nets = [network(org_id, src, ssid=f"net-{i:03d}", **kw) for i in range(n)]
    db.session.commit()
    return nets


def test_explorer_lists_filtered_networks_with_links(client, orgs):
    a = orgs.a.org.id
    src = source(a)
    follower = network(a, src, ssid="FordPass 1234", level="HIGH", score=72.5, manufacturer="Sierra Wireless",
                       tags=("THREAT",), best=-48)
    network(a, src, ssid="HomeNet", level="NONE", score=3)
    db.session.commit()
    client.login(orgs.a.users["read_only"].email)
    page = client.get("/wireless/networks?ssid=Ford*")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "FordPass 1234" in html and "HomeNet" not in html
    assert f'href="/wireless/networks/{follower.id}"' in html
    assert 'data-level="HIGH"' in html and "Sierra Wireless" in html and "-48 dBm" in html
    assert "THREAT</span>" in html
    # The export links carry the same filter.
    assert "/wireless/networks/export?format=csv&amp;ssid=Ford*" in html
    # The navigation lists the explorer first in the wireless section.
    assert html.index("bi-wifi\"></i> Networks") < html.index("bi-map\"></i> Map") < html.index("Threat scoring")
    # ...then the data and places an analyst sets up, and the tuning pages last.
    order = ["bi-map\"></i> Map", "bi-upload\"></i> Imports", "bi-house\"></i> Places",
             "bi-signpost-split\"></i> Routes", "bi-building\"></i> Agency offices",
             "bi-sliders2\"></i> Threat scoring", "bi-cpu\"></i> Threat models"]
    positions = [html.index(label) for label in order]
    assert positions == sorted(positions), order


def test_htmx_request_gets_only_the_table_block(client, orgs):
    seed(orgs.a.org.id)
    client.login(orgs.a.users["analyst"].email)
    response = client.get("/wireless/networks?sort=ssid&dir=desc", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in html and 'id="network-filters"' not in html
    assert html.index("net-002") < html.index("net-000")
    assert 'aria-sort="descending"' in html
    assert 'name="sort" value="ssid" form="network-filters"' in html
    assert "HX-Request" in response.headers.get("Vary", "")
    # Empty fields the form sent are left out of the address pushed to the history.
    pushed = client.get("/wireless/networks?ssid=net*&bssid=&tag=&sort=ssid&dir=asc", headers={"HX-Request": "true"})
    assert pushed.headers["HX-Push-Url"] == "/wireless/networks?ssid=net*&sort=ssid&dir=asc"


def test_bad_filters_answer_422_with_the_reason(client, orgs):
    client.login(orgs.a.users["analyst"].email)
    response = client.get("/wireless/networks?signal_min=loud&sort=secret")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "is not a whole number" in html and "cannot sort by" in html
    assert 'aria-invalid="true"' in html
    assert client.get("/wireless/networks?page=zero").status_code == 422
    fragment = client.get("/wireless/networks?level=BAD", headers={"HX-Request": "true"})
    assert fragment.status_code == 422 and "data-filter-errors" in fragment.get_data(as_text=True)


def test_pagination_and_capped_count(client, orgs):
    org_id = orgs.a.org.id
    seed(org_id, n=120)
    client.login(orgs.a.users["analyst"].email)
    first = client.get("/wireless/networks?sort=ssid").get_data(as_text=True)
    assert first.count("data-network=") == 50 and "1–50 of 120" in first and 'rel="next"' in first
    third = client.get("/wireless/networks?sort=ssid&page=3").get_data(as_text=True)
    assert third.count("data-network=") == 20 and "net-119" in third and "net-099" not in third
    past = client.get("/wireless/networks?page=9").get_data(as_text=True)
    assert "No networks match." in past
    f = parse_filters({}, org_id)
    assert explorer.count_capped(f, org_id, cap=100) == (100, True)
    assert explorer.count_capped(f, org_id, cap=500) == (120, False)


def _exports(client, fmt: str, query: str = ""):
    response = client.get(f"/wireless/networks/export?format={fmt}{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.is_streamed  # a generator response, not a body built in memory
    return response


def test_exports_stream_the_filtered_set_and_are_audited(client, orgs):
    a = orgs.a.org.id
    src = source(a)
    hit = network(a, src, ssid="=cmd|' /C calc'!A0", level="HIGH", score=70, tags=("SUSPECT", "THREAT"))
    network(a, src, ssid="other", level="NONE", score=1)
    db.session.commit()
    client.login(orgs.a.users["analyst"].email)
    before = db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog)
                               .where(AuditLog.action == "wireless.networks_exported"))

    response = _exports(client, "csv", "&level=HIGH")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["id"] for r in rows] == [str(hit.id)]
    assert rows[0]["ssid"].startswith("'=")  # no formula for a spreadsheet to run
    assert rows[0]["tags"] == "SUSPECT;THREAT" and rows[0]["threat_level"] == "HIGH"

    data = json.loads(_exports(client, "json", "&level=HIGH").get_data(as_text=True))
    assert [n["id"] for n in data["networks"]] == [hit.id]
    assert data["filters"] == {"level": ["HIGH"]}

    geo = json.loads(_exports(client, "geojson").get_data(as_text=True))
    assert geo["type"] == "FeatureCollection" and len(geo["features"]) == 2
    for feature in geo["features"]:
        assert feature["type"] == "Feature"
        lon, lat = feature["geometry"]["coordinates"]
        assert -180 <= lon <= 180 and -90 <= lat <= 90
        assert "lat" not in feature["properties"]

    after = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "wireless.networks_exported")
                               .order_by(AuditLog.id)).all()
    assert len(after) - before == 3
    assert after[-1].details["format"] == "geojson" and after[0].org_id == a


def test_export_streams_in_batches_past_one_partition(client, orgs, monkeypatch):
    monkeypatch.setattr(explorer, "EXPORT_BATCH", 7)
    seed(orgs.a.org.id, n=30)
    client.login(orgs.a.users["analyst"].email)
    response = _exports(client, "json")
    chunks = list(response.response)
    assert len(chunks) > 30  # one chunk per network, not one body
    assert len(json.loads("".join(c.decode() if isinstance(c, bytes) else c for c in chunks))["networks"]) == 30


def test_bad_export_requests_are_400(client, orgs):
    client.login(orgs.a.users["analyst"].email)
    bad_format = client.get("/wireless/networks/export?format=xlsx")
    assert bad_format.status_code == 400 and "format" in bad_format.get_json()["error"]["message"]
    bad_filter = client.get("/wireless/networks/export?format=csv&first_from=yesterday")
    assert bad_filter.status_code == 400
    assert bad_filter.get_json()["error"]["fields"]["first_from"]


def test_other_organizations_never_appear(client, orgs):
    seed(orgs.a.org.id, n=2, manufacturer="OrgA Maker")
    b_nets = seed(orgs.b.org.id, n=1, manufacturer="OrgB Maker")
    client.login(orgs.b.users["admin"].email)
    html = client.get("/wireless/networks").get_data(as_text=True)
    assert "OrgA Maker" not in html and "OrgB Maker" in html
    data = json.loads(_exports(client, "json").get_data(as_text=True))
    assert [n["id"] for n in data["networks"]] == [b_nets[0].id]
    assert "OrgA Maker" not in _exports(client, "csv").get_data(as_text=True)


def test_anonymous_users_are_sent_to_sign_in(client):
    for url in ("/wireless/networks", "/wireless/networks/export?format=csv"):
        assert client.get(url).status_code in (302, 401)


def test_writers_can_select_rows_for_a_wigle_lookup(app, client, orgs):
    # Issue 4 item 8: "enrichment jobs for selected ... networks" needs a way to select them.
    from app.models import JobRun

    nets = seed(orgs.a.org.id, n=2)
    client.login(orgs.a.users["analyst"].email)
    html = client.get("/wireless/networks").get_data(as_text=True)
    assert 'id="wigle-selected" method="post" action="/wireless/wigle/enrich-selected"' in html
    for n in nets:
        assert f'name="network_id" value="{n.id}" form="wigle-selected"' in html
    # Nothing ticked: back to the explorer with a message, no job.
    empty = client.post("/wireless/wigle/enrich-selected", data={})
    assert empty.status_code == 303 and empty.headers["Location"].endswith("/wireless/networks")
    assert "Select at least one network" in client.get("/wireless/networks").get_data(as_text=True)
    picked = client.post("/wireless/wigle/enrich-selected", data={"network_id": [str(nets[0].id)]})
    assert picked.status_code == 303
    run = db.session.scalar(sa.select(JobRun).where(JobRun.kind == "wireless.wigle_enrich"))
    assert run.params["network_ids"] == [nets[0].id]
    # Readers see no checkboxes.
    reader = app.test_client()
    reader.login(orgs.a.users["read_only"].email)
    assert "wigle-selected" not in reader.get("/wireless/networks").get_data(as_text=True)


def test_out_of_range_dates_and_pages_are_422_not_500(client, orgs):
    seed(orgs.a.org.id, n=1)
    client.login(orgs.a.users["analyst"].email)
    # The end date's next midnight overflowed; a page past bigint broke OFFSET on PostgreSQL;
    # a superscript digit passed isdigit() and then int().
    for query, name in (("last_to=9999-12-31", "last_to"), ("first_to=9999-12-31", "first_to"),
                        ("page=100000000000000000000", "page"), ("page=%C2%B2", "page")):
        response = client.get(f"/wireless/networks?{query}")
        assert response.status_code == 422, query
        assert f"<code>{name}</code>" in response.get_data(as_text=True)
    export = client.get("/wireless/networks/export?format=csv&last_to=9999-12-31")
    assert export.status_code == 400 and export.get_json()["error"]["fields"]["last_to"]
    assert client.get("/wireless/networks?last_to=9998-12-31").status_code == 200
    assert client.post("/wireless/wigle/enrich-selected", data={"network_id": ["\u00b2"]}).status_code == 400
