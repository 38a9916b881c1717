"""The explorer's filter bar: every choice readable, and filters by source (collector) and
by import, validated against the organization's own collectors and imports."""

from __future__ import annotations

import re

import sqlalchemy as sa

from app.models import db
from app.models.wireless import Observation, WirelessImport
from app.wireless.filters import FilterError, parse_filters
from tests.wireless_explorer_data import network, source


def ids(client, query: str) -> set[str]:
    html = client.get(f"/wireless/networks?{query}").get_data(as_text=True)
    return set(re.findall(r'href="/wireless/networks/(\d+)"', html))


def test_filter_by_source_and_by_import(client, orgs):
    a, b = orgs.a.org.id, orgs.b.org.id
    phone, kismet = source(a), source(a)
    both = network(a, phone, ssid="both")
    only_kismet = network(a, kismet, ssid="kismet-only")
    db.session.add(Observation(org_id=a, network_id=both.id, source_id=kismet.id, bssid=both.bssid, ssid="both",
                               level=-60, lat=1, lon=1, time=sa.func.now(), observed_at_ms=1, time_ms=1, source_pk="k"))
    imp = WirelessImport(org_id=a, source_id=kismet.id, filename="Kismet-test.netxml", status="succeeded")
    db.session.add(imp)
    db.session.flush()
    db.session.execute(sa.update(Observation).where(Observation.network_id == only_kismet.id).values(import_id=imp.id))
    other_org_source = source(b)
    db.session.commit()
    client.login(orgs.a.users["analyst"].email)
    assert ids(client, f"source={phone.id}") == {str(both.id)}
    assert ids(client, f"source={kismet.id}") == {str(both.id), str(only_kismet.id)}
    assert ids(client, f"source={phone.id}&source={kismet.id}") == {str(both.id), str(only_kismet.id)}
    assert ids(client, f"import={imp.id}") == {str(only_kismet.id)}
    # Another organization's collector, or nonsense, is a clear 422, never a silent empty list.
    for query, message in ((f"source={other_org_source.id}", "unknown collector"), ("source=abc", "choose collectors"),
                           ("import=999999", "unknown import"), ("import=x", "is not a whole number")):
        response = client.get(f"/wireless/networks?{query}")
        assert response.status_code == 422 and message in response.get_data(as_text=True), query
    # The filter survives in links (sort headers, exports) and on the map's GeoJSON.
    f = parse_filters({"source": str(kismet.id), "import": str(imp.id)}, a)
    assert f.args()["source"] == [str(kismet.id)] and f.args()["import"] == str(imp.id)
    geo = client.get(f"/wireless/map/networks.geojson?import={imp.id}").get_json()
    assert [feat["id"] for feat in geo["features"]] == [only_kismet.id]


def test_parse_rejects_foreign_source(orgs):
    other = source(orgs.b.org.id)
    try:
        parse_filters({"source": str(other.id)}, orgs.a.org.id)
    except FilterError as exc:
        assert "source" in exc.errors
    else:
        raise AssertionError("another organization's collector was accepted")


def test_filter_bar_lists_every_choice_in_full(client, orgs):
    a = orgs.a.org.id
    src = source(a)
    db.session.add(WirelessImport(org_id=a, source_id=src.id, filename="WigleWifi_2017.csv", status="succeeded"))
    db.session.commit()
    client.login(orgs.a.users["analyst"].email)
    html = client.get("/wireless/networks?type=G&level=HIGH").get_data(as_text=True)
    start = html.index('id="network-filters"')
    form = html[start:html.index("</form>", start)]
    # Radio types and levels are checkbox lists (nothing cut off by a small multi-select box).
    assert "<select" not in form.split('id="f-type"')[0][-200:] and 'multiple' not in form
    for label in ("Wi-Fi", "GSM", "LTE", "Bluetooth"):
        assert re.search(rf'<label class="form-check-label text-nowrap" for="f-type-\d+">[^<]*{label}', form), label
    assert re.search(r'value="G" id="f-type-\d+" checked', form) and re.search(r'value="HIGH" id="f-level-\d+" checked', form)
    assert "(anywhere)" in form and 'id="f-source"' in form and "Phone</option>" in form
    assert "WigleWifi_2017.csv" in form
    # The secondary filters fold under "More" unless one of them is in use.
    assert '<div class="collapse" id="more-filters">' in form
    assert '<div class="collapse show" id="more-filters">' in client.get("/wireless/networks?tag=any").get_data(as_text=True)
