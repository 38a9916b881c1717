"""The networks explorer's queries: one page of the filtered networks, a capped count, the
active tags of a page, and the streaming exports (CSV, JSON, GeoJSON) of the whole set.

Pages use OFFSET with a count capped at COUNT_CAP: counting every match of a broad filter
over a large organization costs as much as reading it, and "more than 10,000" is all a
person paging a table needs. Each page reads PER_PAGE + 1 rows, so "next" is known without
the count.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from app.models import db
from app.models.wireless import RADIO_TYPES, Network, NetworkTag
from app.wireless.filters import NetworkFilter, apply_filters, filtered_networks
from app.wireless.geo import valid_point

PER_PAGE = 50
COUNT_CAP = 10_000
MAX_PAGE = 2_000  # OFFSET beyond ~100k rows gets slow; a filter is the better tool there
EXPORT_BATCH = 1_000
EXPORT_COLUMNS = ("id", "bssid", "ssid", "type", "radio", "encryption", "manufacturer", "threat_level",
                  "threat_score", "tags", "first_seen", "last_seen", "best_signal", "observations",
                  "lat", "lon")


@dataclass
class Page:
    """One page of networks, the tags of its rows, and the (capped) number of matches."""

    rows: list[Network]
    tags: dict[int, list[str]]
    page: int
    per_page: int
    total: int
    capped: bool
    has_next: bool

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def first_index(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.rows else 0

    @property
    def last_index(self) -> int:
        return (self.page - 1) * self.per_page + len(self.rows)


def active_tags(org_id: int, network_ids: Iterable[int]) -> dict[int, list[str]]:
    """network id -> its active (not removed) tags, for the rows being shown."""
    ids = list(network_ids)
    out: dict[int, list[str]] = {}
    if not ids:
        return out
    if db.session.get_bind().dialect.name == "postgresql":
        # One array parameter: the map asks for 5,000 ids, and 5,000 bound parameters cost
        # more to send and plan than the lookup itself.
        wanted = NetworkTag.network_id == sa.any_(sa.cast(ids, postgresql.ARRAY(sa.Integer)))
    else:
        wanted = NetworkTag.network_id.in_(ids)
    rows = db.session.execute(
        sa.select(NetworkTag.network_id, NetworkTag.tag).where(
            NetworkTag.org_id == org_id, wanted, NetworkTag.removed_at.is_(None))
        .order_by(NetworkTag.network_id, NetworkTag.tag))
    for network_id, tag in rows:
        out.setdefault(network_id, []).append(tag)
    return out


def count_capped(f: NetworkFilter, org_id: int, cap: int = COUNT_CAP) -> tuple[int, bool]:
    """How many networks match, counting at most cap + 1 of them: (count, capped)."""
    inner = apply_filters(sa.select(Network.id), f, org_id).limit(cap + 1).subquery()
    n = db.session.scalar(sa.select(sa.func.count()).select_from(inner)) or 0
    return min(n, cap), n > cap


def page_of(f: NetworkFilter, org_id: int, page: int, per_page: int = PER_PAGE) -> Page:
    """Networks of one page (1-based) in the filter's order."""
    page = max(1, min(page, MAX_PAGE))
    rows = list(db.session.scalars(filtered_networks(f, org_id).offset((page - 1) * per_page)
                                   .limit(per_page + 1)))
    has_next = len(rows) > per_page
    rows = rows[:per_page]
    total, capped = count_capped(f, org_id)
    return Page(rows=rows, tags=active_tags(org_id, (n.id for n in rows)), page=page, per_page=per_page,
                total=total, capped=capped, has_next=has_next and page < MAX_PAGE)


def ms_iso(ms: int | None) -> str | None:
    """Epoch milliseconds as an ISO 8601 UTC timestamp."""
    if not ms:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def position(n: Network) -> tuple[float, float] | None:
    """Where to put a network on a map: its strongest sighting, else its last one."""
    if valid_point(n.bestlat, n.bestlon):
        return n.bestlat, n.bestlon
    if valid_point(n.lastlat, n.lastlon):
        return n.lastlat, n.lastlon
    return None


def record_of(n: Network, tags: list[str]) -> dict[str, Any]:
    """One network as the plain values every export format shares."""
    where = position(n)
    return {
        "id": n.id, "bssid": n.bssid, "ssid": n.ssid, "type": n.type, "radio": RADIO_TYPES.get(n.type, n.type),
        "encryption": n.encryption, "manufacturer": n.manufacturer, "threat_level": n.threat_level,
        "threat_score": float(n.threat_score_v2) if n.threat_score_v2 is not None else None,
        "tags": tags, "first_seen": ms_iso(n.firsttime_ms), "last_seen": ms_iso(n.lasttime_ms),
        "best_signal": n.bestlevel, "observations": n.observation_count,
        "lat": where[0] if where else None, "lon": where[1] if where else None,
    }


def records(f: NetworkFilter, org_id: int) -> Iterator[dict[str, Any]]:
    """Every matching network, read in batches through a server-side cursor (flat memory)."""
    stmt = filtered_networks(f, org_id).execution_options(yield_per=EXPORT_BATCH)
    result = db.session.execute(stmt)
    for batch in result.scalars().partitions():
        tags = active_tags(org_id, (n.id for n in batch))
        for n in batch:
            yield record_of(n, tags.get(n.id, []))
        # Rows already written need not stay in the identity map.
        for n in batch:
            db.session.expunge(n)


def feature(record: dict[str, Any]) -> dict[str, Any]:
    """A network record as a GeoJSON Feature (geometry null when it has no usable position)."""
    props = {k: v for k, v in record.items() if k not in ("lat", "lon")}
    geometry = None
    if record["lat"] is not None:
        geometry = {"type": "Point", "coordinates": [record["lon"], record["lat"]]}
    return {"type": "Feature", "id": record["id"], "geometry": geometry, "properties": props}


def csv_chunks(items: Iterable[dict[str, Any]]) -> Iterator[str]:
    """CSV text in chunks: a header, then one line per network (tags joined with ';')."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(EXPORT_COLUMNS)
    for i, rec in enumerate(items, 1):
        writer.writerow(_csv_safe(";".join(rec[c]) if c == "tags" else rec[c]) for c in EXPORT_COLUMNS)
        if i % 200 == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def _csv_safe(value: Any) -> Any:
    # SSIDs are chosen by whoever runs the radio: keep a spreadsheet from running one as a formula.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def json_chunks(items: Iterable[dict[str, Any]], *, geojson: bool, meta: dict[str, Any]) -> Iterator[str]:
    """A JSON array (or GeoJSON FeatureCollection) written one element at a time."""
    head = {"type": "FeatureCollection", **meta} if geojson else {**meta}
    opening = json.dumps(head)[:-1] + (', "features": [' if geojson else ', "networks": [')
    yield opening
    for i, rec in enumerate(items):
        yield ("," if i else "") + json.dumps(feature(rec) if geojson else rec)
    yield "]}"
