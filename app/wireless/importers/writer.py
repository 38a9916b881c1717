"""The one writer: stores batches of Sightings as observations, and keeps networks and
ssid_history in step with what was really added.

Per batch (never per row):
1. networks not yet known are inserted with neutral aggregates (ON CONFLICT DO NOTHING on
   (org_id, bssid)), manufacturer looked up by OUI when radio_manufacturers has rows;
2. observations are inserted with ON CONFLICT DO NOTHING on the seed's natural key, so a
   duplicate adds nothing anywhere;
3. from the new rows only: one UPDATE per touched network (count, first/last seen and place,
   best level and place, the latest non-empty SSID/type/frequency/capabilities,
   needs_rescore), and one upsert per (network, SSID) into ssid_history.

SQLite does all three per batch, aggregating in Python. PostgreSQL does 1 and 2 per batch
(the batch is COPYed into a temporary staging table and ONE statement, _PG_INSERT, inserts
what is new) and step 3 in bulk: `flush()` / `fold_import()` fold every row the import added
since its last fold in ONE statement (_PG_FOLD, data-modifying CTEs aggregating per network
in SQL), once at the end of the import or every FOLD_ROWS rows. A network's row is then
rewritten once per fold instead of once per batch (networks carry many indexes, so every
update is expensive). The import's `folded_id` watermark and `fold_pending` flag make a
stopped run's rows folded exactly once, by the next run. Why, and the measurements:
docs/architecture.md, "Importing wireless sightings", and docs/performance.md.
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
from app.wireless.importers.records import EARLIEST_MS, Sighting, encryption_of, is_randomized

FAR_FUTURE_MS = 2**62
FOLD_LOCK = 0x5716  # pg_advisory_xact_lock(FOLD_LOCK, org_id) serialises an organization's folds
ID_CACHE_LIMIT = 200_000  # bssid -> network id; cleared when full so memory stays bounded

OBS_COLUMNS = ("org_id", "network_id", "source_id", "import_id", "bssid", "ssid", "radio_type",
               "radio_frequency", "radio_capabilities", "radio_service", "radio_rcois",
               "radio_lasttime_ms", "level", "lat", "lon", "altitude", "accuracy", "time",
               "observed_at_ms", "time_ms", "external", "mfgrid", "source_tag", "source_pk", "time_unknown")
COPY_COLUMNS = tuple(c for c in OBS_COLUMNS if c != "time")  # PostgreSQL derives time from time_ms
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


# The manufacturer of each staged network by the longest OUI block of its MAC (MA-S 9, MA-M 7,
# MA-L 6 hex digits; the smallest block wins), only for Wi-Fi/Bluetooth MACs that are not
# locally administered: Writer._manufacturers' rule, in SQL.
_PG_MANUFACTURERS = """
UPDATE wireless_import_networks s SET manufacturer = (
  SELECT r.manufacturer FROM radio_manufacturers r
  WHERE r.oui_prefix IN (left(replace(s.bssid, ':', ''), 9), left(replace(s.bssid, ':', ''), 7),
                         left(replace(s.bssid, ':', ''), 6))
  ORDER BY length(r.oui_prefix) DESC LIMIT 1)
WHERE s.type IN ('W', 'B', 'E') AND NOT s.is_randomized_mac
"""


def _pg_insert_networks(rows: list[dict[str, Any]], manufacturers: bool) -> list[tuple[str, int]]:
    """PostgreSQL: COPY the new networks into a staging table, name their manufacturers there
    (when `manufacturers`), insert those not yet stored (ON CONFLICT DO NOTHING) and return
    (bssid, id) of every staged one, stored before or now: one COPY and a few statements per
    batch, and no per-value parameter dumping (psycopg dumps array and IN parameters in
    Python, which cost more than the rows' own parsing)."""
    cols = list(rows[0])
    raw = db.session.connection().connection.driver_connection
    with raw.cursor() as cur:
        cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS wireless_import_networks ON COMMIT DELETE ROWS AS "
                    f"SELECT {', '.join(cols)} FROM networks WITH NO DATA")
        with cur.copy(f"COPY wireless_import_networks ({', '.join(cols)}) FROM STDIN") as copy:
            write_row = copy.write_row
            for r in rows:
                write_row(tuple(r.values()))
        if manufacturers:
            cur.execute(_PG_MANUFACTURERS)
        cur.execute(f"INSERT INTO networks ({', '.join(cols)}) SELECT {', '.join(cols)} FROM wireless_import_networks "
                    "ON CONFLICT (org_id, bssid) DO NOTHING")
        cur.execute("SELECT n.bssid, n.id FROM wireless_import_networks s JOIN networks n "
                    "ON n.org_id = s.org_id AND n.bssid = s.bssid")
        found = cur.fetchall()
        cur.execute("TRUNCATE wireless_import_networks")
    return found


class Writer:
    """Writes one import's batches for one organization and source (no commit)."""

    def __init__(self, org_id: int, source_id: int, import_id: int, source_tag: str = ""):
        self.org_id, self.source_id, self.import_id, self.source_tag = org_id, source_id, import_id, source_tag
        self.dialect = db.session.get_bind().dialect.name
        self.ids: dict[str, int] = {}
        self.pending = 0  # PostgreSQL: rows written and not yet folded (flush)
        self.oui = db.session.scalar(sa.select(RadioManufacturer.id).limit(1)) is not None

    def forget(self) -> None:
        """Drop the cached network ids (after a rollback some may no longer exist)."""
        self.ids.clear()

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
        makers = {} if self.dialect == "postgresql" else self._manufacturers(  # PostgreSQL: _PG_MANUFACTURERS
            [b for b, s in first.items() if s.radio_type in ("W", "B", "E") and not is_randomized(b, s.radio_type)])
        rows = [{"org_id": self.org_id, "bssid": b, "ssid": s.ssid, "type": s.radio_type, "frequency": s.frequency,
                 "capabilities": s.capabilities, "encryption": encryption_of(s.capabilities, s.radio_type),
                 "service": s.service, "rcois": s.rcois, "mfgrid": s.mfgrid, "manufacturer": makers.get(b),
                 "is_randomized_mac": is_randomized(b, s.radio_type), "firsttime_ms": FAR_FUTURE_MS,
                 "lasttime_ms": -1, "lastlat": 0.0, "lastlon": 0.0, "bestlevel": -10_000, "bestlat": 0.0,
                 "bestlon": 0.0, "observation_count": 0, "source_device_id": self.source_id,
                 "needs_rescore": True} for b, s in first.items()]
        if self.dialect == "postgresql":
            self.ids.update(_pg_insert_networks(rows, self.oui))
            return
        db.session.execute(_insert(Network.__table__).on_conflict_do_nothing(index_elements=["org_id", "bssid"]), rows)
        t = Network.__table__
        for bssid, nid in db.session.execute(sa.select(t.c.bssid, t.c.id).where(
                t.c.org_id == self.org_id, t.c.bssid.in_(list(first)))):
            self.ids[bssid] = nid

    # ------------------------------------------------------------ observations

    def _obs_tuples(self, batch: Sequence[Sighting], with_time: bool = True) -> list[tuple]:
        """One tuple per sighting in OBS_COLUMNS order (COPY_COLUMNS order without `time`)."""
        org, src, imp, tag, ids = self.org_id, self.source_id, self.import_id, self.source_tag, self.ids
        out = []
        for s in batch:
            ms = s.time_ms
            head = (org, ids[s.bssid], src, imp, s.bssid, s.ssid, s.radio_type, s.frequency, s.capabilities,
                    s.service, s.rcois, ms, s.level, s.lat, s.lon, s.altitude, s.accuracy)
            tail = (ms, ms, s.external, s.mfgrid, tag, s.source_pk, ms < EARLIEST_MS)
            out.append(head + (_dt(ms),) + tail if with_time else head + tail)
        return out

    def _insert_observations(self, batch: Sequence[Sighting]) -> list[tuple]:
        """SQLite: a multi-row INSERT ... ON CONFLICT DO NOTHING RETURNING what was new."""
        t = Observation.__table__
        stmt = (_insert(t).on_conflict_do_nothing()
                .returning(*(t.c[name] for name in RETURNED)))
        rows = [dict(zip(OBS_COLUMNS, row, strict=True)) for row in self._obs_tuples(batch)]
        return [tuple(r) for r in db.session.execute(stmt, rows)]

    def _write_pg(self, batch: Sequence[Sighting]) -> tuple[int, set[int]]:
        """COPY the batch into a staging table, then one statement inserts what is new (the
        unique natural_key drops duplicates) and returns only the count and the networks it
        touched. The aggregates are folded later, in bulk (fold_import)."""
        raw = db.session.connection().connection.driver_connection
        with raw.cursor() as cur:
            # The import commits per batch and a crash leaves it re-runnable (the natural key
            # dedupes what was stored, and the next run folds what was not), so a lost last
            # commit costs nothing: no WAL flush wait.
            cur.execute("SET LOCAL synchronous_commit = off")
            # A per-connection temp table (the pool may hand out another connection after a
            # commit, so it is asked for every batch); emptied by every commit.
            # CREATE TABLE AS takes the column types without observations' NOT NULLs (time
            # is filled in by the INSERT).
            cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS wireless_import_rows ON COMMIT DELETE ROWS AS "
                        f"SELECT {', '.join(COPY_COLUMNS)} FROM observations WITH NO DATA")
            with cur.copy(f"COPY wireless_import_rows ({', '.join(COPY_COLUMNS)}) FROM STDIN") as copy:
                write_row = copy.write_row
                for row in self._obs_tuples(batch, with_time=False):
                    write_row(row)
            cur.execute(_PG_INSERT)
            imported, touched = cur.fetchone()
            if imported:
                # In the batch's own transaction: committed rows are never left unmarked.
                cur.execute("UPDATE wireless_imports SET fold_pending = true WHERE id = %s AND NOT fold_pending",
                            (self.import_id,))
            cur.execute("TRUNCATE wireless_import_rows")
        self.pending += imported
        return imported, set(touched or ())

    def flush(self) -> int:
        """Fold the rows written since the last fold into networks and ssid_history (PostgreSQL;
        SQLite folds every batch as it writes it). No commit. Returns the networks updated."""
        if self.dialect != "postgresql" or not self.pending:
            return 0
        self.pending = 0
        return fold_import(self.import_id)

    # ------------------------------------------------------------ aggregates

    def _update_networks(self, new: list[tuple]) -> set[int]:
        """SQLite: fold the new rows into one UPDATE per network (PostgreSQL: _PG_FOLD, same rules)."""
        agg: dict[int, list[Any]] = {}
        for nid, ssid, level, lat, lon, ms, rtype, freq, caps in new:
            a = agg.get(nid)
            if a is None:
                a = agg[nid] = [0, ms, ms, lat, lon, level, lat, lon, "", None, 0, "", -1, -1, -1, -1]
            a[0] += 1
            if (ms < EARLIEST_MS, ms) < (a[1] < EARLIEST_MS, a[1]):  # a known time beats any unknown one
                a[1] = ms
            if ms >= a[2]:  # a later row wins a tie, like ORDER BY time_ms DESC, id DESC
                a[2], a[3], a[4] = ms, lat, lon
            if level > a[5]:  # the first row wins a tie, like ORDER BY level DESC, id
                a[5], a[6], a[7] = level, lat, lon
            # The latest non-empty SSID, type, frequency and capabilities, each on its own.
            for slot, value in ((8, ssid), (9, rtype), (10, freq), (11, caps)):
                if value and ms >= a[slot + 4]:
                    a[slot], a[slot + 4] = value, ms
        if not agg:
            return set()
        keys = tuple(f"k_{k}" for k in ("id", "n", "first", "last", "lastlat", "lastlon", "best", "bestlat",
                                        "bestlon", "ssid", "type", "freq", "caps"))
        rows = [dict(zip(keys, (nid, *a[:12]), strict=True)) for nid, a in agg.items()]
        db.session.execute(sa.text(_NETWORK_UPDATE.format(lo="min", hi="max", ref=":", far=FAR_FUTURE_MS, early=EARLIEST_MS)), rows)
        return set(agg)

    def _update_ssid_history(self, new: list[tuple]) -> None:
        agg: dict[tuple[int, str], list[int]] = {}
        for nid, ssid, _level, _lat, _lon, ms, *_ in new:
            if not ssid:
                continue
            a = agg.get((nid, ssid))
            if a is None:
                agg[(nid, ssid)] = [ms, ms, 1]
            else:
                if (ms < EARLIEST_MS, ms) < (a[0] < EARLIEST_MS, a[0]):  # a known time beats an unknown one
                    a[0] = ms
                a[1], a[2] = max(a[1], ms), a[2] + 1
        if not agg:
            return
        rows = [{"org_id": self.org_id, "network_id": nid, "ssid": ssid, "first_seen": _dt(a[0]),
                 "last_seen": _dt(a[1]), "observation_count": a[2]} for (nid, ssid), a in agg.items()]
        t = SsidHistory.__table__
        stmt = _insert(t)
        early, old, added = _dt(EARLIEST_MS), t.c.first_seen, stmt.excluded.first_seen
        stmt = stmt.on_conflict_do_update(index_elements=["network_id", "ssid"], set_={
            "first_seen": sa.case((sa.and_(added >= early, old < early), added),
                                  (sa.and_(added < early, old >= early), old),
                                  else_=sa.func.min(old, added)),
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
        if self.dialect == "postgresql":
            imported, touched = self._write_pg(batch)
        else:
            new = self._insert_observations(batch)
            imported, touched = len(new), self._update_networks(new)
            self._update_ssid_history(new)
        return BatchResult(imported=imported, duplicate=len(batch) - imported, networks=touched)


# Old values on the right-hand side: SET expressions see the row as it was (PostgreSQL and
# SQLite alike), so each CASE compares against the stored aggregate, not a half-updated one.
# Times before EARLIEST_MS are unknown (no clock fix): they sort before every real time, so
# the latest values and lasttime come from known times whenever there are any, and firsttime
# takes a known time over an unknown one (FAR_FUTURE_MS is a new network's "none yet").
_NETWORK_UPDATE = """
UPDATE networks SET
  observation_count = observation_count + {ref}k_n,
  firsttime_ms = CASE
    WHEN firsttime_ms >= {far} OR ({ref}k_first >= {early} AND firsttime_ms < {early}) THEN {ref}k_first
    WHEN {ref}k_first < {early} AND firsttime_ms >= {early} THEN firsttime_ms
    ELSE {lo}(firsttime_ms, {ref}k_first) END,
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

_LATEST = "ORDER BY time_ms DESC, id DESC"
_EARLY = f"(TIMESTAMPTZ 'epoch' + {EARLIEST_MS} * INTERVAL '1 millisecond')"

# PostgreSQL, one statement per batch: insert the staged rows that are new (the unique
# natural_key, migration 0029, drops duplicates, inside the batch too) and return only how
# many were new and the networks they belong to.
_PG_INSERT = f"""
WITH new AS (
  INSERT INTO observations ({", ".join(OBS_COLUMNS)})
  SELECT {", ".join("TIMESTAMPTZ 'epoch' + time_ms * INTERVAL '1 millisecond'" if c == "time" else c
                    for c in OBS_COLUMNS)}
  FROM wireless_import_rows
  ON CONFLICT (natural_key) DO NOTHING
  RETURNING network_id
)
SELECT count(*), array_agg(DISTINCT network_id) FROM new
"""

# PostgreSQL, one statement per fold: an import's observations with id in (lo, hi] (exactly
# the rows it added since its last fold; ids of one session only grow) widen each network's
# aggregates with _NETWORK_UPDATE and upsert ssid_history: the same rules as the SQLite path
# in Python, over however many batches the fold spans (every rule is a min, a max, a sum or
# "the latest row", so folding once or per batch gives the same networks row).
_PG_FOLD = f"""
WITH new AS MATERIALIZED (
  SELECT id, {", ".join(RETURNED)}, time FROM observations
  WHERE import_id = %(imp)s AND id > %(lo)s AND id <= %(hi)s
), agg AS (
  SELECT network_id AS k_id, count(*) AS k_n,
    coalesce(min(time_ms) FILTER (WHERE time_ms >= {EARLIEST_MS}), min(time_ms)) AS k_first, max(time_ms) AS k_last,
    (array_agg(lat {_LATEST}))[1] AS k_lastlat, (array_agg(lon {_LATEST}))[1] AS k_lastlon,
    max(level) AS k_best,
    (array_agg(lat ORDER BY level DESC, id))[1] AS k_bestlat,
    (array_agg(lon ORDER BY level DESC, id))[1] AS k_bestlon,
    coalesce((array_agg(ssid {_LATEST}) FILTER (WHERE ssid <> ''))[1], '') AS k_ssid,
    (array_agg(radio_type {_LATEST}) FILTER (WHERE radio_type <> ''))[1] AS k_type,
    coalesce((array_agg(radio_frequency {_LATEST}) FILTER (WHERE radio_frequency <> 0))[1], 0) AS k_freq,
    coalesce((array_agg(radio_capabilities {_LATEST}) FILTER (WHERE radio_capabilities <> ''))[1], '')
      AS k_caps
  FROM new GROUP BY network_id
), touched AS (
  {_NETWORK_UPDATE.format(lo="LEAST", hi="GREATEST", ref="v.", far=FAR_FUTURE_MS, early=EARLIEST_MS).replace(
      "WHERE id = :k_id", "FROM agg v WHERE networks.id = v.k_id RETURNING networks.id").strip()}
), history AS (
  INSERT INTO ssid_history (org_id, network_id, ssid, first_seen, last_seen, observation_count)
  SELECT %(org)s, network_id, ssid, coalesce(min(time) FILTER (WHERE time_ms >= {EARLIEST_MS}), min(time)),
    max(time), count(*) FROM new WHERE ssid <> ''
  GROUP BY network_id, ssid
  ON CONFLICT (network_id, ssid) DO UPDATE SET
    first_seen = CASE
      WHEN excluded.first_seen >= {_EARLY} AND ssid_history.first_seen < {_EARLY} THEN excluded.first_seen
      WHEN excluded.first_seen < {_EARLY} AND ssid_history.first_seen >= {_EARLY} THEN ssid_history.first_seen
      ELSE LEAST(ssid_history.first_seen, excluded.first_seen) END,
    last_seen = GREATEST(ssid_history.last_seen, excluded.last_seen),
    observation_count = ssid_history.observation_count + excluded.observation_count
)
SELECT count(*) FROM touched
"""


def fold_import(import_id: int) -> int:
    """PostgreSQL: fold the import's committed-or-written rows not yet folded into networks and
    ssid_history, and move its watermark (no commit; the caller's transaction holds the fold and
    the watermark together, so a row is folded exactly once). Locks the import's row first, so
    two processes never fold the same rows. Returns the networks updated."""
    raw = db.session.connection().connection.driver_connection
    with raw.cursor() as cur:
        cur.execute("SELECT org_id, folded_id FROM wireless_imports WHERE id = %s FOR UPDATE", (import_id,))
        found = cur.fetchone()
        if found is None:
            return 0
        org_id, folded = found
        # One fold at a time per organization: two imports folding at once would update the
        # same networks in different orders (a deadlock); batches never wait on this.
        cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", (FOLD_LOCK, org_id))
        # The import's newest row, by the primary key from the top (an import's rows are the
        # newest while it runs): import_id's index is a BRIN one (migration 0038), which
        # would read every row of the import to answer max().
        cur.execute("SELECT id FROM observations WHERE import_id = %s AND id > %s ORDER BY id DESC LIMIT 1",
                    (import_id, folded))
        found = cur.fetchone()
        upto = found[0] if found else None
        updated = 0
        if upto is not None and upto > folded:
            cur.execute("SET LOCAL synchronous_commit = off")
            cur.execute("SET LOCAL work_mem = '256MB'")  # the per-network sort of up to FOLD_ROWS rows
            cur.execute(_PG_FOLD, {"imp": import_id, "lo": folded, "hi": upto, "org": org_id})
            updated = cur.fetchone()[0]
        cur.execute("UPDATE wireless_imports SET folded_id = greatest(folded_id, coalesce(%s, 0)), fold_pending = false "
                    "WHERE id = %s", (upto, import_id))
    return updated
