"""Enriching networks from WiGLE: choose the networks, respect the quota, call the API,
store the answer.

Each network is committed on its own (its ledger rows with its data) and the session is
committed before every request, so no transaction stays open while WiGLE answers and a
call that was made is always in the ledger, even if a later step fails. Storing is
idempotent: a network's WiGLE detail is one row that is replaced, and its WiGLE sightings
are replaced as a set, so enriching twice never duplicates anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from app.models import Network, WigleV3NetworkDetail, WigleV3Observation, db, utcnow
from app.wireless.wigle import client as wc
from app.wireless.wigle import parse
from app.wireless.wigle.credentials import open_secret
from app.wireless.wigle.quota import ledger_recorder, quota_state

ENRICHABLE_TYPES = ("W", "B", "E")  # Wi-Fi and Bluetooth: WiGLE's detail endpoints
APIS = ("v3", "v2", "v2-search")
DETAIL_FIELDS = ("bssid", "ssid", "encryption", "channel", "frequency", "first_seen", "last_update",
                 "country", "region", "city", "trilat", "trilong")


class EnrichError(Exception):
    """Enrichment cannot start (no credential, bad parameters): shown to the user as is."""


@dataclass
class EnrichReport:
    requested: int = 0
    enriched: int = 0
    not_found: int = 0
    failed: int = 0
    skipped: int = 0
    observations: int = 0
    stopped: str | None = None
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        parts = [f"{self.enriched} enriched", f"{self.not_found} not on WiGLE"]
        if self.failed:
            parts.append(f"{self.failed} failed")
        if self.skipped:
            parts.append(f"{self.skipped} skipped")
        message = ", ".join(parts) + (f"; stopped: {self.stopped}" if self.stopped else "")
        return {"message": message, "requested": self.requested, "enriched": self.enriched,
                "not_found": self.not_found, "failed": self.failed, "skipped": self.skipped,
                "observations": self.observations, "stopped": self.stopped, "errors": self.errors[:20]}


def never_enriched_ids(org_id: int, limit: int) -> list[int]:
    """Wi-Fi and Bluetooth networks WiGLE was never asked about, highest threat first."""
    return list(db.session.scalars(
        sa.select(Network.id)
        .where(Network.org_id == org_id, Network.wigle_enriched_at.is_(None),
               Network.type.in_(ENRICHABLE_TYPES))
        .order_by(Network.threat_score_v2.desc().nulls_last(), Network.lasttime_ms.desc(), Network.id)
        .limit(limit)))


def store(network: Network, detail: dict[str, Any], observations: list[dict[str, Any]] | None,
          raw: dict[str, Any]) -> int:
    """Replace the network's WiGLE detail (and sightings, when the answer had any)."""
    row = db.session.scalar(sa.select(WigleV3NetworkDetail).where(WigleV3NetworkDetail.network_id == network.id))
    if row is None:
        row = WigleV3NetworkDetail(org_id=network.org_id, network_id=network.id)
        db.session.add(row)
    for name in DETAIL_FIELDS:
        setattr(row, name, detail.get(name))
    row.bssid = network.bssid
    row.fetched_at = utcnow()
    row.raw_response = raw
    count = 0
    if observations is not None:
        db.session.execute(sa.delete(WigleV3Observation).where(WigleV3Observation.network_id == network.id))
        for obs in observations:
            db.session.add(WigleV3Observation(org_id=network.org_id, network_id=network.id,
                                              **{**obs, "bssid": network.bssid}))
        count = len(observations)
    network.wigle_enriched_at = utcnow()
    db.session.flush()
    return count


def lookup(client: wc.WigleClient, bssid: str, radio: str, api: str) -> tuple[dict, list | None, dict]:
    """One network through the chosen API: (detail fields, sightings or None, raw answer).

    Takes plain values, not the ORM row: reading an expired row would open a transaction
    that then stays open while WiGLE answers.
    """
    kind = "wifi" if radio == "W" else "bt"
    if api == "v3" or radio != "W":
        body = client.v3_detail(kind, bssid)
        detail, observations = parse.parse_v3_detail(body, bssid)
        return detail, observations, body
    if api == "v2":
        body = client.v2_detail(bssid)
        parsed = parse.parse_v2_detail(body, bssid)
        if parsed is None:
            raise wc.NotFound("WiGLE returned no result for this network")
        return parsed[0], parsed[1], body
    body = client.v2_search(bssid)
    found = parse.parse_v2_search(body, bssid)
    if found is None:
        raise wc.NotFound("WiGLE returned no result for this network")
    return found, None, body


def make_client(org_id: int, **kwargs: Any) -> wc.WigleClient:
    secret = open_secret(org_id, "wigle")
    if secret is None:
        raise EnrichError("No WiGLE credential is set for this organization (Wireless > Providers).")
    api_name, token = secret
    return wc.WigleClient(api_name or "", token, record=ledger_recorder(org_id), **kwargs)


def enrich(org_id: int, network_ids: list[int], *, user_requested: bool, api: str = "v3",
           progress: Callable[[int, str], None] | None = None, client: wc.WigleClient | None = None) -> EnrichReport:
    """Enrich the given networks of `org_id` in order, stopping at the quota or a refusal."""
    if api not in APIS:
        raise EnrichError(f"Unknown WiGLE API {api!r}; use one of {', '.join(APIS)}.")
    client = client or make_client(org_id)
    report = EnrichReport(requested=len(network_ids))
    db.session.commit()  # nothing of ours stays open while WiGLE answers
    for index, network_id in enumerate(network_ids):
        network = db.session.scalar(sa.select(Network).where(Network.id == network_id, Network.org_id == org_id))
        if network is None or network.type not in ENRICHABLE_TYPES:
            report.skipped += 1
            continue
        reason = quota_state(org_id).blocked_reason(user_requested)
        if reason:
            report.stopped = reason
            break
        bssid, radio = network.bssid, network.type
        db.session.commit()
        try:
            detail, observations, raw = lookup(client, bssid, radio, api)
        except wc.NotFound:
            network.wigle_enriched_at = utcnow()  # asked: a background batch should not ask again
            report.not_found += 1
        except wc.WigleError as exc:
            report.errors.append(f"{bssid}: {exc}")
            if exc.stops_batch:
                report.stopped = str(exc)
                db.session.commit()
                break
            report.failed += 1
        else:
            report.observations += store(network, detail, observations, raw)
            report.enriched += 1
        db.session.commit()
        if progress:
            progress(int(100 * (index + 1) / max(1, len(network_ids))), f"{index + 1}/{len(network_ids)} networks")
    return report


def wigle_context(network: Network, max_observations: int = 50) -> dict[str, Any]:
    """What templates/wireless/_wigle_detail.html needs for one network (already scoped)."""
    detail = db.session.scalar(sa.select(WigleV3NetworkDetail).where(WigleV3NetworkDetail.network_id == network.id))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(WigleV3Observation)
                              .where(WigleV3Observation.network_id == network.id)) or 0
    observations = db.session.scalars(
        sa.select(WigleV3Observation).where(WigleV3Observation.network_id == network.id)
        .order_by(WigleV3Observation.observed_at.desc().nulls_last(), WigleV3Observation.id)
        .limit(max_observations)).all()
    return {"network": network, "wigle_detail": detail, "wigle_observations": observations,
            "wigle_observation_total": total}
