"""Demo wireless data (registered with app.core.demo_data): the FBI field offices, the
IEEE manufacturer registry, a home for the first demo organization and three weeks of the
synthetic scenario (app/wireless/scenario.py) as its networks and sightings, scored by the
rescoring service.

Idempotent: reference data upserts, and the scenario is only written into an organization
that has no networks yet. Rows are written with bulk inserts so `vigil seed-demo` (and the
first `vigil serve`) stay quick on SQLite.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from app import audit
from app.core.demo_data import register_demo
from app.models import Organization, db
from app.models.wireless import AgencyOffice, DeviceSource, Network, Observation, SsidHistory
from app.wireless import places, reference, rescore
from app.wireless.scenario import DEVICE, generate_scenario

DEMO_ORG = "northwind"
DEMO_OFFICE = "Denver"  # the scenario's city; one errand sits next to this office
BULK = 5000


def _encryption(caps: str, rtype: str) -> str:
    caps = (caps or "").upper()
    for key, name in (("WPA3", "wpa3"), ("SAE", "wpa3"), ("WPA2", "wpa2"), ("WPA", "wpa"), ("WEP", "wep")):
        if key in caps:
            return name
    return "open" if rtype == "W" else "unknown"


def write_scenario(org_id: int, weeks: int = 3, seed: int = 7) -> dict[str, Any]:
    """Generate the scenario and store it as the organization's source, networks, sightings
    and SSID history; set its home; score everything. Returns counts."""
    office = db.session.scalar(sa.select(AgencyOffice).where(AgencyOffice.name == DEMO_OFFICE))
    scenario = generate_scenario(seed=seed, weeks=weeks,
                                 agency_office=(office.name, office.lat, office.lon) if office else None)
    places.set_home(org_id, *scenario.home, scenario.home_radius_km, "Home (demo)",
                    actor_type="system", actor_label="seed-demo")
    source = DeviceSource(org_id=org_id, code=DEVICE, name="Demo phone", device_type="scenario",
                          description="Synthetic recordings from app/wireless/scenario.py")
    db.session.add(source)
    db.session.flush()

    by_bssid: dict[str, list[dict[str, Any]]] = {}
    for s in scenario.sightings:
        by_bssid.setdefault(s["bssid"], []).append(s)
    rows = []
    for n in scenario.networks:
        seen = by_bssid.get(n["bssid"])
        if not seen:
            continue
        best = max(seen, key=lambda s: s["level"])
        rows.append({
            "org_id": org_id, "bssid": n["bssid"].upper(), "ssid": n["ssid"], "type": n["radio_type"],
            "frequency": n["frequency"] or 0, "capabilities": n["capabilities"],
            "encryption": _encryption(n["capabilities"], n["radio_type"]), "manufacturer": n["manufacturer"],
            "is_randomized_mac": reference.is_locally_administered(n["bssid"]),
            "firsttime_ms": int(seen[0]["time"].timestamp() * 1000), "lasttime_ms": int(seen[-1]["time"].timestamp() * 1000),
            "lastlat": seen[-1]["lat"], "lastlon": seen[-1]["lon"], "bestlevel": best["level"], "bestlat": best["lat"],
            "bestlon": best["lon"], "observation_count": len(seen), "source_device_id": source.id, "needs_rescore": True,
        })
    db.session.execute(sa.insert(Network), rows)
    ids = dict(db.session.execute(sa.select(Network.bssid, Network.id).where(Network.org_id == org_id)).all())

    history = []
    observations = []
    for bssid, seen in by_bssid.items():
        network_id = ids[bssid.upper()]
        history.append({"org_id": org_id, "network_id": network_id, "ssid": seen[0]["ssid"] or "",
                        "first_seen": seen[0]["time"], "last_seen": seen[-1]["time"], "observation_count": len(seen)})
        for s in seen:
            ms = int(s["time"].timestamp() * 1000)
            observations.append({
                "org_id": org_id, "network_id": network_id, "source_id": source.id, "bssid": bssid.upper(),
                "ssid": s["ssid"], "radio_type": s["radio_type"], "radio_frequency": s["frequency"],
                "radio_capabilities": s["capabilities"], "level": s["level"], "lat": s["lat"], "lon": s["lon"],
                "altitude": s["altitude"], "accuracy": s["accuracy"], "time": s["time"], "observed_at_ms": ms,
                "time_ms": ms, "source_tag": "scenario", "source_pk": f"scenario-{seed}-{len(observations)}",
            })
    db.session.execute(sa.insert(SsidHistory), history)
    for start in range(0, len(observations), BULK):
        db.session.execute(sa.insert(Observation), observations[start:start + BULK])
    db.session.flush()

    result = rescore.rescore(org_id)
    first_day = scenario.start + timedelta(hours=6)
    route = places.build_route(org_id, source, first_day, first_day + timedelta(hours=14), "Demo commute, first Monday",
                               actor_type="system", actor_label="seed-demo")
    return {"networks": len(rows), "observations": len(observations), "levels": result.levels, "route_id": route.id}


def seed_wireless(orgs: dict[str, Organization]) -> None:
    """Reference data for everyone, and the scenario for the first demo organization."""
    parsed, added, _ = reference.load_offices_file()
    manufacturers, _, _ = reference.load_manufacturers()
    org = orgs.get(DEMO_ORG)
    details: dict[str, Any] = {"offices_added": added, "manufacturers_added": manufacturers}
    if org is not None and db.session.scalar(sa.select(Network.id).where(Network.org_id == org.id).limit(1)) is None:
        details.update(write_scenario(org.id))
    audit.record("demo.wireless_seeded", resource_type="organization", resource_id=org.id if org else None,
                 org_id=org.id if org else None, actor_type="system", actor_label="seed-demo", details=details)


register_demo(seed_wireless)
