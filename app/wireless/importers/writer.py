"""The one writer: stores batches of Sightings as observations, and keeps networks and
ssid_history in step with what was really added.

Per batch (never per row):
1. networks not yet known are inserted with neutral aggregates (ON CONFLICT DO NOTHING on
   (org_id, bssid)), manufacturer looked up by OUI when radio_manufacturers has rows;
2. observations are inserted with ON CONFLICT DO NOTHING on the seed's natural key and
   RETURNING what was new, so a duplicate adds nothing anywhere;
3. from the new rows only: one UPDATE per touched network (count, first/last seen and place,
   best level and place, latest non-empty SSID/type/frequency/capabilities, needs_rescore),
   and one upsert per (network, SSID) into ssid_history.

On PostgreSQL step 2 goes through COPY into a temporary staging table and one
INSERT ... SELECT ... ON CONFLICT DO NOTHING RETURNING, and step 3's network UPDATE is a
single statement over unnest()ed arrays; SQLite uses multi-row inserts and executemany.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from app.models import db
from app.models.wireless import Network, Observation, RadioManufacturer, SsidHistory
from app.wireless.importers.records import Sighting, encryption_of, is_randomized

FAR_FUTURE_MS = 2**62
ID_CACHE_LIMIT = 200_000  # bssid -> network id; cleared when full so memory stays bounded

OBS_COLUMNS = ("org_id", "network_id", "source_id", "import_id", "bssid", "ssid", "radio_type",
               "radio_frequency", "radio_capabilities", "radio_service", "radio_rcois",
               "radio_lasttime_ms", "level", "lat", "lon", "altitude", "accuracy", "time",
               "observed_at_ms", "time_ms", "external", "mfgrid", "source_tag", "source_pk")
RETURNED = ("network_id", "ssid", "level", "lat", "lon", "time_ms", "radio_type", "radio_frequency",
            "radio_capabilities")


@dataclass
class BatchResult:
    imported: int = 0
    duplicate: int = 0
    networks: set[int] = field(default_factory=set)


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _insert(table):
    return (postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert)(table)


def _pg_insert_arrays(table: sa.Table, rows: list[dict[str, Any]], suffix: str) -> None:
    """INSERT ... SELECT FROM unnest(one array per column) + suffix: one statement for the batch,
    instead of a round trip (and a parameter dump) per row."""
    dialect = db.session.get_bind().dialect
    cols = list(rows[0])
    casts = ", ".join(f"CAST(:c{i} AS {table.c[c].type.compile(dialect=dialect)}[])" for i, c in enumerate(cols))
    db.session.execute(sa.text(f"INSERT INTO {table.name} ({', '.join(cols)}) SELECT * FROM unnest({casts}) {suffix}"),
                       {f"c{i}": [r[c] for r in rows] for i, c in enumerate(cols)})


class Writer:
    """Writes one import's batches for one organization and source (no commit)."""

    def __init__(self, org_id: int, source_id: int, import_id: int | None, source_tag: str = ""):
        self.org_id, self.source_id, self.import_id, self.source_tag = org_id, source_id, import_id, source_tag
        self.dialect = db.session.get_bind().dialect.name
        self.ids: dict[str, int] = {}
        self.oui = db.session.scalar(sa.select(RadioManufacturer.id).limit(1)) is not None

    # ------------------------------------------------------------ networks

    def _manufacturers(self, bssids: Sequence[str]) -> dict[str, str]:
        if not self.oui or not bssids:
            return {}
        prefixes: set[str] = set()
        for b in bssids:
            hexes = b.replace(":", "")
            prefixes.update((hexes[:6], hexes[:7], hexes[:9]))
        found = dict(db.session.execute(sa.select(RadioManufacturer.oui_prefix, RadioManufacturer.manufacturer)
                                        .where(RadioManufacturer.oui_prefix.in_(prefixes))).all())
        out = {}
        for b in bssids:
            hexes = b.replace(":", "")
            for n in (9, 7, 6):  # the smallest (most specific) block wins
                if hexes[:n] in found:
                    out[b] = found[hexes[:n]]
                    break
        return out

    def _network_ids(self, batch: Sequence[Sighting]) -> None:
        first: dict[str, Sighting] = {}
        for s in batch:
            if s.bssid not in self.ids and s.bssid not in first:
                first[s.bssid] = s
        if not first:
            return
        if len(self.ids) + len(first) > ID_CACHE_LIMIT:
            self.ids.clear()
        makers = self._manufacturers([b for b, s in first.items()
                                      if s.radio_type in ("W", "B", "E") and not is_randomized(b, s.radio_type)])
        rows = [{"org_id": self.org_id, "bssid": b, "ssid": s.ssid, "type": s.radio_type, "frequency": s.frequency,
                 "capabilities": s.capabilities, "encryption": encryption_of(s.capabilities, s.radio_type),
                 "service": s.service, "rcois": s.rcois, "mfgrid": s.mfgrid, "manufacturer": makers.get(b),
                 "is_randomized_mac": is_randomized(b, s.radio_type), "firsttime_ms": FAR_FUTURE_MS,
                 "lasttime_ms": -1, "lastlat": 0.0, "lastlon": 0.0, "bestlevel": -10_000, "bestlat": 0.0,
                 "bestlon": 0.0, "observation_count": 0, "source_device_id": self.source_id,
                 "needs_rescore": True} for b, s in first.items()]
        if self.dialect == "postgresql":
            _pg_insert_arrays(Network.__table__, rows, "ON CONFLICT (org_id, bssid) DO NOTHING")
        else:
            db.session.execute(_insert(Network.__table__).on_conflict_do_nothing(index_elements=["org_id", "bssid"]),
                               rows)
        t = Network.__table__
        for bssid, nid in db.session.execute(sa.select(t.c.bssid, t.c.id).where(
                t.c.org_id == self.org_id, t.c.bssid.in_(list(first)))):
            self.ids[bssid] = nid

    # ------------------------------------------------------------ observations

    def _obs_rows(self, batch: Sequence[Sighting]) -> list[dict[str, Any]]:
        org, src, imp, tag, ids = self.org_id, self.source_id, self.import_id, self.source_tag, self.ids
        return [{"org_id": org, "network_id": ids[s.bssid], "source_id": src, "import_id": imp, "bssid": s.bssid,
                 "ssid": s.ssid, "radio_type": s.radio_type, "radio_frequency": s.frequency,
                 "radio_capabilities": s.capabilities, "radio_service": s.service, "radio_rcois": s.rcois,
                 "radio_lasttime_ms": s.time_ms, "level": s.level, "lat": s.lat, "lon": s.lon,
                 "altitude": s.altitude, "accuracy": s.accuracy, "time": _dt(s.time_ms),
                 "observed_at_ms": s.time_ms, "time_ms": s.time_ms, "external": s.external, "mfgrid": s.mfgrid,
                 "source_tag": tag, "source_pk": s.source_pk} for s in batch]

    def _insert_observations(self, batch: Sequence[Sighting]) -> list[tuple]:
        if self.dialect == "postgresql":
            return self._insert_observations_pg(batch)
        t = Observation.__table__
        stmt = (_insert(t).on_conflict_do_nothing()
                .returning(*(t.c[name] for name in RETURNED)))
        return [tuple(r) for r in db.session.execute(stmt, self._obs_rows(batch))]

    def _insert_observations_pg(self, batch: Sequence[Sighting]) -> list[tuple]:
        conn = db.session.connection()
        raw = conn.connection.driver_connection
        cols = ", ".join(OBS_COLUMNS)
        with raw.cursor() as cur:
            # A per-connection temp table (the pool may hand out another connection after a
            # commit, so it is asked for every batch); emptied after each batch.
            cur.execute("CREATE TEMP TABLE IF NOT EXISTS wireless_import_staging "
                        "(LIKE observations INCLUDING DEFAULTS) ON COMMIT DELETE ROWS")
            with cur.copy(f"COPY wireless_import_staging ({cols}) FROM STDIN") as copy:
                for row in self._obs_rows(batch):
                    copy.write_row(tuple(row.values()))  # dict order is OBS_COLUMNS order
            cur.execute(f"INSERT INTO observations ({cols}) SELECT {cols} FROM wireless_import_staging "
                        f"ON CONFLICT ON CONSTRAINT uq_observations_natural DO NOTHING "
                        f"RETURNING {', '.join(RETURNED)}")
            returned = cur.fetchall()
            cur.execute("TRUNCATE wireless_import_staging")
        return returned

    # ------------------------------------------------------------ aggregates

    def _update_networks(self, new: list[tuple]) -> set[int]:
        agg: dict[int, list[Any]] = {}
        for nid, ssid, level, lat, lon, ms, rtype, freq, caps in new:
            a = agg.get(nid)
            if a is None:
                agg[nid] = [1, ms, ms, lat, lon, level, lat, lon, ssid or "", rtype, freq or 0, caps or ""]
                continue
            a[0] += 1
            if ms < a[1]:
                a[1] = ms
            if ms >= a[2]:
                a[2], a[3], a[4] = ms, lat, lon
                if ssid:
                    a[8] = ssid
                a[9] = rtype or a[9]
                a[10] = freq or a[10]
                a[11] = caps or a[11]
            if level > a[5]:
                a[5], a[6], a[7] = level, lat, lon
        if not agg:
            return set()
        keys = tuple(f"k_{k}" for k in ("id", "n", "first", "last", "lastlat", "lastlon", "best", "bestlat",
                                        "bestlon", "ssid", "type", "freq", "caps"))
        rows = [dict(zip(keys, (nid, *a), strict=True)) for nid, a in agg.items()]
        if self.dialect == "postgresql":
            self._update_networks_pg(rows)
        else:
            db.session.execute(sa.text(_NETWORK_UPDATE.format(lo="min", hi="max", ref=":")), rows)
        return set(agg)

    def _update_networks_pg(self, rows: list[dict[str, Any]]) -> None:
        arrays = {k: [r[k] for r in rows] for k in rows[0]}
        types = {"k_id": "bigint", "k_n": "int", "k_first": "bigint", "k_last": "bigint", "k_lastlat": "float8",
                 "k_lastlon": "float8", "k_best": "int", "k_bestlat": "float8", "k_bestlon": "float8",
                 "k_ssid": "text", "k_type": "text", "k_freq": "int", "k_caps": "text"}
        unnest = ", ".join(f"CAST(:{k} AS {t}[])" for k, t in types.items())
        sql = _NETWORK_UPDATE.format(lo="LEAST", hi="GREATEST", ref="v.").replace(
            "WHERE id = :k_id",
            f"FROM unnest({unnest}) AS v({', '.join(types)}) WHERE networks.id = v.k_id")
        db.session.execute(sa.text(sql), arrays)

    def _update_ssid_history(self, new: list[tuple]) -> None:
        agg: dict[tuple[int, str], list[int]] = {}
        for nid, ssid, _level, _lat, _lon, ms, *_ in new:
            if not ssid:
                continue
            a = agg.get((nid, ssid))
            if a is None:
                agg[(nid, ssid)] = [ms, ms, 1]
            else:
                a[0], a[1], a[2] = min(a[0], ms), max(a[1], ms), a[2] + 1
        if not agg:
            return
        rows = [{"org_id": self.org_id, "network_id": nid, "ssid": ssid, "first_seen": _dt(a[0]),
                 "last_seen": _dt(a[1]), "observation_count": a[2]} for (nid, ssid), a in agg.items()]
        t = SsidHistory.__table__
        if self.dialect == "postgresql":
            _pg_insert_arrays(t, rows, "ON CONFLICT (network_id, ssid) DO UPDATE SET "
                              "first_seen = LEAST(ssid_history.first_seen, excluded.first_seen), "
                              "last_seen = GREATEST(ssid_history.last_seen, excluded.last_seen), "
                              "observation_count = ssid_history.observation_count + excluded.observation_count")
            return
        stmt = _insert(t)
        stmt = stmt.on_conflict_do_update(index_elements=["network_id", "ssid"], set_={
            "first_seen": sa.func.min(t.c.first_seen, stmt.excluded.first_seen),
            "last_seen": sa.func.max(t.c.last_seen, stmt.excluded.last_seen),
            "observation_count": t.c.observation_count + stmt.excluded.observation_count,
        })
        db.session.execute(stmt, rows)

    # ------------------------------------------------------------ entry point

    def write(self, batch: Sequence[Sighting]) -> BatchResult:
        """Store one batch; returns what was new, what was a duplicate and the networks touched."""
        if not batch:
            return BatchResult()
        self._network_ids(batch)
        new = self._insert_observations(batch)
        touched = self._update_networks(new)
        self._update_ssid_history(new)
        return BatchResult(imported=len(new), duplicate=len(batch) - len(new), networks=touched)


# Old values on the right-hand side: SET expressions see the row as it was (PostgreSQL and
# SQLite alike), so each CASE compares against the stored aggregate, not a half-updated one.
_NETWORK_UPDATE = """
UPDATE networks SET
  observation_count = observation_count + {ref}k_n,
  firsttime_ms = {lo}(firsttime_ms, {ref}k_first),
  lasttime_ms = {hi}(lasttime_ms, {ref}k_last),
  lastlat = CASE WHEN {ref}k_last >= lasttime_ms THEN {ref}k_lastlat ELSE lastlat END,
  lastlon = CASE WHEN {ref}k_last >= lasttime_ms THEN {ref}k_lastlon ELSE lastlon END,
  ssid = CASE WHEN {ref}k_last >= lasttime_ms AND {ref}k_ssid <> '' THEN {ref}k_ssid ELSE ssid END,
  type = CASE WHEN {ref}k_last >= lasttime_ms AND {ref}k_type IS NOT NULL THEN {ref}k_type ELSE type END,
  frequency = CASE WHEN {ref}k_last >= lasttime_ms AND {ref}k_freq <> 0 THEN {ref}k_freq ELSE frequency END,
  capabilities = CASE WHEN {ref}k_last >= lasttime_ms AND {ref}k_caps <> '' THEN {ref}k_caps ELSE capabilities END,
  bestlevel = {hi}(bestlevel, {ref}k_best),
  bestlat = CASE WHEN {ref}k_best > bestlevel THEN {ref}k_bestlat ELSE bestlat END,
  bestlon = CASE WHEN {ref}k_best > bestlevel THEN {ref}k_bestlon ELSE bestlon END,
  needs_rescore = true
WHERE id = :k_id
"""
