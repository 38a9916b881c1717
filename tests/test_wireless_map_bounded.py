"""The map's data endpoints read a bounded amount whatever the size of the data (issue 18.4):
the view's networks as points or as clusters (one per grid cell, never more than MAX_CELLS),
the newest sightings in a box up to a cap; a fixed number of queries; bbox and zoom
validated (400, never 500); tenant scoping in every mode. No timings: counts and shapes."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.models import db
from app.models.wireless import MapNetworkCell, Network
from app.wireless import map_data
from app.wireless.explorer import position
from app.wireless.filters import NetworkFilter
from tests.conftest import BACKEND
from tests.test_pages_at_scale import counted_queries
from tests.wireless_explorer_data import HOME, network, north_of, source

NETWORKS = "/wireless/map/networks.geojson"
SIGHTINGS = "/wireless/map/observations.geojson"
MIGRATION = Path(__file__).resolve().parent.parent / "migrations" / "versions" / "0038_map_viewport_indexes.py"


def _box(centre: tuple[float, float], half: float) -> str:
    return f"{centre[1] - half},{centre[0] - half},{centre[1] + half},{centre[0] + half}"


def _spread(org_id: int, n: int, *, level: str = "LOW", score: float = 20, step_m: float = 300,
            sightings_each: int = 1) -> list:
    """n networks on a line east of HOME, step_m apart, each with sightings_each sightings."""
    src = source(org_id)
    out = []
    for i in range(n):
        p = north_of(HOME, 1 + i * step_m, bearing=90)
        out.append(network(org_id, src, ssid=f"spread-{i}", level=level, score=score, points=[p] * sightings_each))
    return out


def test_many_networks_in_view_come_as_clusters_that_add_up(client, orgs):
    a = orgs.a.org.id
    _spread(a, 30)
    worst = network(a, source(a), ssid="worst", level="CRITICAL", score=95, points=[north_of(HOME, 50, bearing=90)])
    far = network(a, source(a), ssid="far away", level="HIGH", score=80, points=[(10.0, 10.0)])
    db.session.commit()
    client.login(orgs.a.users["analyst"].email)
    box = _box(HOME, 0.2)
    data = client.get(f"{NETWORKS}?bbox={box}&zoom=12&limit=10").get_json()
    assert data["mode"] == "clusters" and data["bbox"] == [float(v) for v in box.split(",")]
    counts = [f["properties"]["count"] for f in data["features"]]
    assert sum(counts) == data["total"] == 31  # every network in view, and only those (not `far`)
    assert all(f["properties"]["cluster"] for f in data["features"])
    # The cell holding the CRITICAL network is coloured by it (the worst level in the cell).
    levels = {f["properties"]["level"] for f in data["features"]}
    assert "CRITICAL" in levels and "HIGH" not in levels
    # Cells are about CELL_PX pixels: zoom 12 puts the ~9 km line into several cells, zoom 8 into one or two.
    assert len(data["features"]) > 3
    coarse = client.get(f"{NETWORKS}?bbox={box}&zoom=8&limit=10").get_json()
    assert len(coarse["features"]) <= 2 and coarse["total"] == 31
    # Coordinates are rounded to DECIMALS places (a smaller answer).
    for f in data["features"]:
        for v in f["geometry"]["coordinates"]:
            assert round(v, map_data.DECIMALS) == v
    # The same view zoomed in far enough: single networks, most threatening first, capped.
    detail = client.get(f"{NETWORKS}?bbox={box}&zoom={map_data.DETAIL_ZOOM}&limit=10").get_json()
    assert detail["mode"] == "points" and len(detail["features"]) == 10 and detail["truncated"] is True
    assert detail["features"][0]["id"] == worst.id
    assert far.id not in {f["id"] for f in detail["features"]}


def test_a_few_networks_in_view_come_as_points_even_zoomed_out(client, orgs):
    a = orgs.a.org.id
    nets = _spread(orgs.a.org.id, 3)
    db.session.commit()
    client.login(orgs.a.users["analyst"].email)
    data = client.get(f"{NETWORKS}?bbox=-180,-90,180,90&zoom=2").get_json()
    assert data["mode"] == "points" and {f["id"] for f in data["features"]} == {n.id for n in nets}
    lons = [f["geometry"]["coordinates"][0] for f in data["features"]]
    assert data["extent"][0] == min(lons) and data["extent"][2] == max(lons)
    assert a  # the organization whose networks these are


def test_the_cells_never_exceed_max_cells(client, orgs, monkeypatch):
    _spread(orgs.a.org.id, 40, step_m=2_000)
    db.session.commit()
    monkeypatch.setattr(map_data, "MAX_CELLS", 16)
    client.login(orgs.a.users["analyst"].email)
    # The world at zoom 15 (a client asking for far more than it shows) gets coarser cells:
    # level 0 (90 degrees), 15 cells at most for the whole world.
    data = client.get(f"{NETWORKS}?zoom=15&limit=5").get_json()
    assert data["mode"] == "clusters" and len(data["features"]) <= 16 and data["total"] == 40
    assert data["cell_deg"] == 90.0
    for zoom in range(map_data.MAX_ZOOM + 1):
        for box in (map_data.WORLD, map_data.Box(-10.0, -10.0, 10.0, 10.0), map_data.Box(1.0, 1.0, 1.001, 1.001)):
            level = map_data.cell_level(box, zoom)
            size = map_data.cell_degrees(level)
            cells = ((box.east // size) - (box.west // size) + 1) * ((box.north // size) - (box.south // size) + 1)
            assert 0 <= level < map_data.DETAIL_ZOOM and (cells <= map_data.MAX_CELLS or level == 0)


def test_a_network_is_drawn_at_its_last_fix_when_its_best_is_not_usable(client, orgs):
    a = orgs.a.org.id
    net = network(a, source(a), ssid="no best", points=[(0.0, 0.0), north_of(HOME, 100)])  # best (0,0): no fix
    db.session.commit()
    client.login(orgs.a.users["analyst"].email)
    data = client.get(f"{NETWORKS}?bbox={_box(HOME, 0.01)}&zoom=14").get_json()
    assert [f["id"] for f in data["features"]] == [net.id]
    assert client.get(f"{NETWORKS}?bbox=-1,-1,1,1&zoom=14").get_json()["features"] == []


def test_the_number_of_queries_does_not_grow_with_the_networks(client, orgs):
    a = orgs.a.org.id
    client.login(orgs.a.users["analyst"].email)
    url = f"{NETWORKS}?bbox={_box(HOME, 0.2)}&zoom=12&limit=5"
    sizes = []
    for batch in (10, 40):
        _spread(a, batch)
        db.session.commit()
        with counted_queries() as statements:
            data = client.get(url).get_json()
        assert data["mode"] == "clusters"
        sizes.append(len([s for s in statements if "networks" in s]))
    assert sizes[0] == sizes[1] and sizes[0] <= 3, sizes  # the bounded count and the grid, whatever the size


def test_sightings_in_a_full_box_are_the_newest_cap_read_either_way(client, orgs, monkeypatch):
    a = orgs.a.org.id
    nets = _spread(a, 6, step_m=50, sightings_each=5)  # 30 sightings in the box
    db.session.commit()
    client.login(orgs.a.users["analyst"].email)
    box = _box(HOME, 0.05)
    full = client.get(f"{SIGHTINGS}?bbox={box}&zoom=14&limit=7").get_json()
    assert len(full["features"]) == 7 and full["truncated"] is True and full["cap"] == 7
    times = [f["properties"]["time"] for f in full["features"]]
    assert times == sorted(times, reverse=True)
    everything = client.get(f"{SIGHTINGS}?bbox={box}&limit=100").get_json()
    assert len(everything["features"]) == 30 and everything["truncated"] is False
    assert [f["id"] for f in everything["features"][:7]] == [f["id"] for f in full["features"]]
    assert {f["properties"]["network_id"] for f in everything["features"]} == {n.id for n in nets}
    # The default cap bounds the answer however many sightings the box holds.
    monkeypatch.setattr(map_data, "OBSERVATION_CAP", 4)
    with counted_queries() as statements:
        capped = map_data.observations_geojson(NetworkFilter(), a, map_data.parse_bbox(box), map_data.OBSERVATION_CAP)
    assert len(capped["features"]) == 4 and capped["truncated"] is True
    assert len(statements) == 3  # the count that stops at the cap, the rows, their networks


@pytest.mark.parametrize(("query", "name"), [
    ("zoom=abc", "zoom"), ("zoom=-1", "zoom"), ("zoom=23", "zoom"), ("zoom=1.5", "zoom"),
    ("bbox=1,2,3", "bbox"), ("bbox=0,50,1,40", "bbox"), ("bbox=inf,0,1,1", "bbox"), ("limit=5001", "limit"),
])
def test_bad_view_parameters_are_400_naming_them(client, orgs, query, name):
    client.login(orgs.a.users["analyst"].email)
    for url in (NETWORKS, SIGHTINGS):
        response = client.get(f"{url}?{query}")
        assert response.status_code == 400, (url, query)
        error = response.get_json()["error"]
        assert name in error["fields"] and name in error["message"]


def test_clusters_never_count_another_organizations_networks(client, orgs):
    _spread(orgs.a.org.id, 25)
    _spread(orgs.b.org.id, 12)
    db.session.commit()
    client.login(orgs.b.users["analyst"].email)
    data = client.get(f"{NETWORKS}?bbox={_box(HOME, 0.2)}&zoom=12&limit=5").get_json()
    assert data["mode"] == "clusters" and data["total"] == 12
    sightings = client.get(f"{SIGHTINGS}?bbox={_box(HOME, 0.2)}&zoom=12").get_json()
    assert len(sightings["features"]) == 12


def test_the_migration_indexes_the_very_expression_the_map_sends():
    spec = importlib.util.spec_from_file_location("migration_0038", MIGRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.POS_LAT_SQL == map_data.POS_LAT_SQL and module.POS_LON_SQL == map_data.POS_LON_SQL
    assert module.revision == "0038_map_viewport"  # the file read is the migration that builds the index


@pytest.mark.skipif(not BACKEND.is_postgres, reason="the plan is PostgreSQL's")
def test_postgresql_reads_the_view_through_the_expression_index(orgs):
    # The statement the map sends; with sequential scans priced out, the plan names the index
    # (the CASE text matches migration 0038's, so PostgreSQL can use it on a large table).
    stmt = map_data.networks_in(NetworkFilter(), orgs.a.org.id, map_data.Box(-75, 40, -73, 41), Network.id)
    sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
    db.session.execute(sa.text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(r[0] for r in db.session.execute(sa.text("EXPLAIN " + sql)))
    assert "ix_networks_org_map_pos" in plan, plan


def _expected_cells(org_id: int, level: int) -> dict[tuple[int, int, int], int]:
    """The pyramid level computed in Python from the networks (explorer.position, the ranks)."""
    size = map_data.cell_degrees(level)
    out: dict[tuple[int, int, int], int] = {}
    for n in db.session.scalars(sa.select(Network).where(Network.org_id == org_id)):
        where = position(n)
        if where is None:
            continue
        key = (math.floor(where[1] / size), math.floor(where[0] / size), map_data.LEVEL_RANK.get(n.threat_level, 0))
        out[key] = out.get(key, 0) + 1
    return out


def _stored_cells(org_id: int, level: int) -> dict[tuple[int, int, int], int]:
    c = MapNetworkCell
    return {(r.cx, r.cy, r.rank): r.n for r in db.session.execute(
        sa.select(c.cx, c.cy, c.rank, c.n).where(c.org_id == org_id, c.zoom == level, c.n != 0))}


@pytest.mark.skipif(not BACKEND.is_postgres, reason="the pyramid is kept by PostgreSQL triggers")
def test_the_pyramid_follows_inserts_updates_and_deletes_whoever_makes_them(orgs):
    a, b = orgs.a.org.id, orgs.b.org.id
    nets = _spread(a, 12, step_m=700)
    _spread(b, 3)
    # A set-based insert (like the importer's) and one without any usable position.
    db.session.execute(sa.insert(Network), [
        {"org_id": a, "bssid": f"02:AA:00:00:00:{i:02X}", "ssid": "bulk", "type": "W", "firsttime_ms": 1,
         "lasttime_ms": 1, "lastlat": 40.0 + i / 100, "lastlon": -74.5, "bestlat": 0, "bestlon": 0, "bestlevel": -50,
         "observation_count": 1, "threat_level": "MEDIUM"} for i in range(5)])
    network(a, source(a), ssid="nowhere", points=[])
    db.session.flush()
    # Rescoring (a set-based UPDATE of levels), an edit of position, unrelated updates, deletes.
    db.session.execute(sa.update(Network).where(Network.id.in_([n.id for n in nets[:4]]))
                       .values(threat_level="CRITICAL", threat_score_v2=91))
    db.session.execute(sa.update(Network).where(Network.id == nets[5].id).values(bestlat=41.5, bestlon=-73.2))
    db.session.execute(sa.update(Network).where(Network.org_id == a).values(observation_count=Network.observation_count + 1))
    db.session.delete(nets[6])
    db.session.execute(sa.delete(Network).where(Network.id == nets[7].id))
    db.session.flush()
    for level in (0, 9, map_data.DETAIL_ZOOM - 1):
        assert _stored_cells(a, level) == _expected_cells(a, level), level
        assert sum(_stored_cells(b, level).values()) == 3
    # Every level counts every drawn network once.
    assert sum(_stored_cells(a, 4).values()) == 12 - 2 + 5


def test_level_filtered_clusters_match_a_live_count(client, orgs):
    a = orgs.a.org.id
    _spread(a, 20, level="LOW")
    _spread(a, 7, level="HIGH", score=70)
    db.session.commit()
    client.login(orgs.a.users["analyst"].email)
    box = _box(HOME, 0.2)
    high = client.get(f"{NETWORKS}?bbox={box}&zoom=12&limit=5&level=HIGH").get_json()
    assert high["mode"] == "clusters" and high["total"] == 7
    assert {f["properties"]["level"] for f in high["features"]} == {"HIGH"}
    # A filter the pyramid cannot answer (a name) aggregates the networks themselves: same cells.
    named = client.get(f"{NETWORKS}?bbox={box}&zoom=12&limit=5&ssid=spread-*").get_json()
    assert named["source"] == "live" and named["total"] == 27
    every = client.get(f"{NETWORKS}?bbox={box}&zoom=12&limit=5").get_json()
    assert every["source"] == ("pyramid" if BACKEND.is_postgres else "live")
    assert [(f["id"], f["properties"]["count"], f["properties"]["level"]) for f in every["features"]] == \
        [(f["id"], f["properties"]["count"], f["properties"]["level"]) for f in named["features"]]
    assert every["extent"][0] <= min(f["geometry"]["coordinates"][0] for f in every["features"])
