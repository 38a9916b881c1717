"""The ONE network filter: parsed and validated from query args, applied as SQL.

The explorer, its exports and the map all call `parse_filters(request.args)` and then
`apply_filters(select(...), f, org_id)`, so a URL means the same set of networks wherever it
is used. A bad value raises `FilterError` (the views answer 422 on pages, 400 on data
endpoints) with a message naming the field; nothing reaches SQL unvalidated, and sorting
only ever uses the `SORTS` whitelist.

SSID syntax (shown on the page): `*` any run of characters, `?` one character; without a
wildcard the text matches anywhere in the name. Alternatives are separated by `|` or ` OR `
(a network matches if any alternative does); a term starting with `-` or `NOT ` (after a
space, a `|` or at the start) excludes names that match it, whatever the other terms say.
So `Home* -*guest*` is "starts with Home, and no guest". Matching ignores case. BSSIDs take the same wildcards and,
without one, match as a prefix.

Distance filters ("seen within X km of home / of an agency office") look at the network's
sightings: a latitude/longitude box around the place narrows observations through the
`(org_id, lat, lon)` index, then the exact haversine distance (the same formula as
app/wireless/geo.py, written with SQL functions that PostgreSQL and SQLite both have)
decides. A box never crosses the antimeridian (see geo.BBox).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from app.models import db
from app.models.wireless import (
    ENCRYPTIONS,
    RADIO_TYPES,
    TAGS,
    THREAT_LEVELS,
    AgencyOffice,
    DeviceSource,
    LocationMarker,
    Network,
    NetworkTag,
    Observation,
    WirelessImport,
)
from app.wireless.geo import EARTH_RADIUS_M, M_PER_DEG, BBox

UNSCORED = "UNSCORED"
LEVEL_CHOICES = (*THREAT_LEVELS, UNSCORED)
TAG_CHOICES = (*TAGS, "any", "none")
NEAR_CHOICES = ("home", "office")
MAX_KM = 1000.0
MAX_PATTERN = 200
MAX_ALTERNATIVES = 20
SIGNAL_RANGE = (-150, 0)
NEAR_IDS_CAP = 10_000


def _active_tag(tag_col: Any = NetworkTag.tag) -> sa.Select:
    return sa.select(sa.func.max(tag_col)).where(
        NetworkTag.network_id == Network.id, NetworkTag.removed_at.is_(None))


# Every sortable column: the URL's `sort` value -> the SQL expression. Nothing else sorts.
SORTS: dict[str, Any] = {
    "ssid": Network.ssid,
    "bssid": Network.bssid,
    "type": Network.type,
    "score": Network.threat_score_v2,
    "tag": _active_tag().scalar_subquery(),
    "manufacturer": Network.manufacturer,
    "encryption": Network.encryption,
    "first_seen": Network.firsttime_ms,
    "last_seen": Network.lasttime_ms,
    "signal": Network.bestlevel,
    "observations": Network.observation_count,
}
DEFAULT_SORT = ("last_seen", "desc")
NULLABLE_SORTS = frozenset({"score", "tag", "manufacturer"})


class FilterError(ValueError):
    """A query argument that cannot be used; `errors` maps field name -> message."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


@dataclass(frozen=True)
class SsidTerm:
    """One alternative of an SSID expression: a LIKE pattern, maybe negated."""

    pattern: str
    negate: bool


@dataclass
class NetworkFilter:
    """A validated filter. Empty fields filter nothing."""

    types: list[str] = field(default_factory=list)
    levels: list[str] = field(default_factory=list)
    tag: str | None = None
    ssid: str = ""
    bssid: str = ""
    manufacturer: str = ""
    first_from: date | None = None
    first_to: date | None = None
    last_from: date | None = None
    last_to: date | None = None
    signal_min: int | None = None
    signal_max: int | None = None
    encryptions: list[str] = field(default_factory=list)
    near: str | None = None
    km: float | None = None
    office_id: int | None = None
    # Networks with at least one sighting by one of these collectors / from this import.
    source_ids: list[int] = field(default_factory=list)
    import_id: int | None = None
    sort: str = DEFAULT_SORT[0]
    direction: str = DEFAULT_SORT[1]
    # Resolved by parse_filters for distance filters: the centre, when there is one.
    centre: tuple[float, float] | None = None
    _near_key: Any = field(default=None, repr=False, compare=False)
    _near_ids: list[int] | None = field(default=None, repr=False, compare=False)

    def args(self, **overrides: Any) -> dict[str, Any]:
        """The query args that give this filter back (for links: sort headers, pages, exports)."""
        out: dict[str, Any] = {
            "type": self.types, "level": self.levels, "tag": self.tag, "ssid": self.ssid,
            "bssid": self.bssid, "manufacturer": self.manufacturer,
            "first_from": self.first_from, "first_to": self.first_to,
            "last_from": self.last_from, "last_to": self.last_to,
            "signal_min": self.signal_min, "signal_max": self.signal_max, "enc": self.encryptions,
            "near": self.near, "km": (f"{self.km:g}" if self.km is not None else None),
            "office": self.office_id, "source": self.source_ids, "import": self.import_id,
            "sort": self.sort, "dir": self.direction,
        }
        if (self.sort, self.direction) == DEFAULT_SORT:
            out.pop("sort"), out.pop("dir")
        out.update(overrides)
        return {k: _arg(v) for k, v in out.items() if v not in (None, "", [])}

    def described(self) -> dict[str, Any]:
        """The filter as plain values (what an export's audit row records)."""
        return {k: v for k, v in self.args().items()}


def _arg(value: Any) -> Any:
    if isinstance(value, list):
        return [str(v) for v in value]
    return value.isoformat() if isinstance(value, date) else str(value)


# --- parsing ---------------------------------------------------------------------------


def _multi(args: MultiDict, name: str, choices: tuple[str, ...], errors: dict[str, str],
           upper: bool = True) -> list[str]:
    values = [v.strip() for raw in args.getlist(name) for v in raw.split(",") if v.strip()]
    if upper:
        values = [v.upper() for v in values]
    bad = [v for v in values if v not in choices]
    if bad:
        errors[name] = f"unknown value {bad[0]!r}; choose from {', '.join(choices)}"
    return list(dict.fromkeys(values))


DATE_MIN, DATE_MAX = date(1970, 1, 1), date(9998, 12, 31)


def _date(args: MultiDict, name: str, errors: dict[str, str]) -> date | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        errors[name] = f"{raw[:40]!r} is not a date (use YYYY-MM-DD)"
        return None
    if not (DATE_MIN <= day <= DATE_MAX):
        # 9999-12-31 as an end date would overflow when the next midnight is worked out.
        errors[name] = f"must be between {DATE_MIN.isoformat()} and {DATE_MAX.isoformat()}"
        return None
    return day


def _number(args: MultiDict, name: str, errors: dict[str, str], kind: type, low: float, high: float
            ) -> Any:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = kind(raw)
    except ValueError:
        errors[name] = f"{raw[:40]!r} is not a {'whole ' if kind is int else ''}number"
        return None
    if not (low <= value <= high) or value != value:  # NaN fails the second test
        errors[name] = f"must be between {low:g} and {high:g}"
        return None
    return value


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def wildcard_pattern(text: str, *, anchored_when_plain: bool) -> str:
    """A LIKE pattern (escape character backslash) for a term with * and ? wildcards.

    A term with a wildcard matches the whole value; a plain term matches anywhere
    (SSIDs) or as a prefix (BSSIDs, anchored_when_plain=True).
    """
    body = _like_escape(text)
    if "*" in text or "?" in text:
        return body.replace("*", "%").replace("?", "_")
    return body + "%" if anchored_when_plain else "%" + body + "%"


# Terms are split at `|`, ` OR `, and before a ` -` or ` NOT ` exclusion (upper-case OR and
# NOT only, so a name like "Coffee or tea" stays one term).
_SPLIT = re.compile(r"\s*\|\s*|\s+OR\s+|\s+(?=-\S)|\s+(?=NOT\s)")


def parse_ssid(expression: str) -> list[SsidTerm]:
    """Split an SSID expression into terms (see the module docstring); ValueError if unusable."""
    expression = expression.strip()
    if not expression:
        return []
    if len(expression) > MAX_PATTERN:
        raise ValueError(f"at most {MAX_PATTERN} characters")
    terms = []
    for part in _SPLIT.split(expression):
        part = part.strip()
        negate = False
        if part.startswith("-"):
            negate, part = True, part[1:].strip()
        elif part.startswith("NOT "):
            negate, part = True, part[4:].strip()
        if not part:
            raise ValueError("an empty alternative (check for a stray |, OR, - or NOT)")
        terms.append(SsidTerm(wildcard_pattern(part, anchored_when_plain=False), negate))
    if len(terms) > MAX_ALTERNATIVES:
        raise ValueError(f"at most {MAX_ALTERNATIVES} alternatives")
    return terms


_BSSID = re.compile(r"^[0-9A-Z:_.*?-]+$")


def parse_filters(args: MultiDict | dict[str, Any], org_id: int) -> NetworkFilter:
    """A validated NetworkFilter from query args, or FilterError naming every bad field."""
    if not isinstance(args, MultiDict):
        args = MultiDict(args)
    errors: dict[str, str] = {}
    f = NetworkFilter()
    f.types = _multi(args, "type", tuple(RADIO_TYPES), errors)
    f.levels = _multi(args, "level", LEVEL_CHOICES, errors)
    f.encryptions = _multi(args, "enc", ENCRYPTIONS, errors, upper=False)
    tag = (args.get("tag") or "").strip()
    if tag:
        wanted = tag.upper() if tag.upper() in TAGS else tag.lower()
        if wanted not in TAG_CHOICES:
            errors["tag"] = f"unknown tag {tag[:40]!r}; choose from {', '.join(TAG_CHOICES)}"
        f.tag = wanted
    f.ssid = (args.get("ssid") or "").strip()
    try:
        parse_ssid(f.ssid)
    except ValueError as exc:
        errors["ssid"] = str(exc)
    f.bssid = (args.get("bssid") or "").strip().upper()
    if f.bssid and (len(f.bssid) > 64 or not _BSSID.match(f.bssid)):
        errors["bssid"] = "use hex digits, ':' and the wildcards * and ? (at most 64 characters)"
    f.manufacturer = (args.get("manufacturer") or "").strip()
    if len(f.manufacturer) > MAX_PATTERN:
        errors["manufacturer"] = f"at most {MAX_PATTERN} characters"
    for name in ("first_from", "first_to", "last_from", "last_to"):
        setattr(f, name, _date(args, name, errors))
    for low, high in (("first_from", "first_to"), ("last_from", "last_to")):
        if getattr(f, low) and getattr(f, high) and getattr(f, low) > getattr(f, high):
            errors[high] = "the end date is before the start date"
    f.signal_min = _number(args, "signal_min", errors, int, *SIGNAL_RANGE)
    f.signal_max = _number(args, "signal_max", errors, int, *SIGNAL_RANGE)
    if f.signal_min is not None and f.signal_max is not None and f.signal_min > f.signal_max:
        errors["signal_max"] = "the strongest signal is below the weakest"
    _parse_distance(args, f, org_id, errors)
    _parse_origin(args, f, org_id, errors)
    sort = (args.get("sort") or DEFAULT_SORT[0]).strip()
    direction = (args.get("dir") or ("asc" if sort != DEFAULT_SORT[0] else DEFAULT_SORT[1])).strip().lower()
    if sort not in SORTS:
        errors["sort"] = f"cannot sort by {sort[:40]!r}; choose from {', '.join(SORTS)}"
    if direction not in ("asc", "desc"):
        errors["dir"] = "use asc or desc"
    f.sort, f.direction = sort, direction
    if errors:
        raise FilterError(errors)
    return f


def _parse_distance(args: MultiDict, f: NetworkFilter, org_id: int, errors: dict[str, str]) -> None:
    near = (args.get("near") or "").strip().lower()
    km = _number(args, "km", errors, float, 0.0, MAX_KM)
    office = _number(args, "office", errors, int, 1, 2**31 - 1)
    if not near:
        if km is not None:
            errors["near"] = "choose what the distance is measured from: home or an agency office"
        return
    if near not in NEAR_CHOICES:
        errors["near"] = "choose home or office"
        return
    f.near, f.km = near, km
    if km is None and "km" not in errors:
        errors["km"] = "give a distance in km for the 'seen within' filter"
    elif km is not None and km <= 0:
        errors["km"] = "must be more than 0"
    if near == "home":
        home = db.session.execute(sa.select(LocationMarker.lat, LocationMarker.lon).where(
            LocationMarker.org_id == org_id, LocationMarker.is_home.is_(True))).first()
        if home is None:
            errors["near"] = "this organization has no home marker yet; set one first"
        else:
            f.centre = (home.lat, home.lon)
    elif office is not None:
        row = db.session.execute(sa.select(AgencyOffice.lat, AgencyOffice.lon)
                                 .where(AgencyOffice.id == office)).first()
        if row is None:
            errors["office"] = "no agency office has that id"
        else:
            f.office_id, f.centre = office, (row.lat, row.lon)


# --- SQL -------------------------------------------------------------------------------


def _parse_origin(args: MultiDict, f: NetworkFilter, org_id: int, errors: dict[str, str]) -> None:
    """`source` (collector ids, several allowed) and `import` (one import id) of this organization."""
    raw_sources = [v.strip() for raw in args.getlist("source") for v in raw.split(",") if v.strip()]
    if any(not v.isdecimal() or len(v) > 10 for v in raw_sources):
        errors["source"] = "choose collectors from the list"
    elif raw_sources:
        wanted = list(dict.fromkeys(int(v) for v in raw_sources))
        known = set(db.session.scalars(sa.select(DeviceSource.id).where(DeviceSource.org_id == org_id,
                                                                        DeviceSource.id.in_(wanted))))
        if len(known) != len(wanted):
            errors["source"] = "unknown collector; choose one from the list"
        f.source_ids = wanted
    f.import_id = _number(args, "import", errors, int, 1, 2**31 - 1)
    if f.import_id is not None and db.session.scalar(sa.select(WirelessImport.id).where(
            WirelessImport.org_id == org_id, WirelessImport.id == f.import_id)) is None:
        errors["import"] = "unknown import; choose one from the list"


def haversine_sql(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> Any:
    """geo.haversine_m as a SQL expression (sin, cos, asin, sqrt, radians: PostgreSQL and SQLite)."""
    f = sa.func
    dlat = f.radians(lat2 - lat1) / 2
    dlon = f.radians(lon2 - lon1) / 2
    a = (f.sin(dlat) * f.sin(dlat)
         + f.cos(f.radians(lat1)) * f.cos(f.radians(lat2)) * f.sin(dlon) * f.sin(dlon))
    return 2 * EARTH_RADIUS_M * f.asin(f.sqrt(a))


def _ms(day: date, end: bool = False) -> int:
    moment = datetime.combine(day + timedelta(days=1) if end else day, time(), tzinfo=UTC)
    return int(moment.timestamp() * 1000) - (1 if end else 0)


def _near_ids(f: NetworkFilter, org_id: int) -> sa.Select:
    """Ids of networks with a sighting within f.km of the chosen place."""
    radius = float(f.km or 0) * 1000.0
    obs = sa.select(Observation.network_id).where(Observation.org_id == org_id)
    if f.centre is not None:
        lat0, lon0 = f.centre
        box = BBox.around(lat0, lon0, radius)
        return obs.where(Observation.lat.between(box.min_lat, box.max_lat),
                         Observation.lon.between(box.min_lon, box.max_lon),
                         haversine_sql(Observation.lat, Observation.lon, lat0, lon0) <= radius)
    # Any agency office: the box is worked out per office in SQL (its width in longitude
    # depends on the office's latitude), so the database joins offices to the index.
    dlat = radius / M_PER_DEG
    dlon = dlat / sa.func.cos(sa.func.radians(AgencyOffice.lat))
    return obs.join(AgencyOffice, sa.and_(
        Observation.lat.between(AgencyOffice.lat - dlat, AgencyOffice.lat + dlat),
        Observation.lon.between(AgencyOffice.lon - dlon, AgencyOffice.lon + dlon),
    )).where(haversine_sql(Observation.lat, Observation.lon, AgencyOffice.lat, AgencyOffice.lon) <= radius)


def conditions(f: NetworkFilter, org_id: int) -> list[Any]:
    """The WHERE clauses on `networks` for a filter (always including the organization)."""
    out: list[Any] = [Network.org_id == org_id]
    if f.types:
        out.append(Network.type.in_(f.types))
    if f.levels:
        named = [lv for lv in f.levels if lv != UNSCORED]
        parts = [Network.threat_level.in_(named)] if named else []
        if UNSCORED in f.levels:
            parts.append(Network.threat_level.is_(None))
        out.append(sa.or_(*parts))
    if f.encryptions:
        out.append(Network.encryption.in_(f.encryptions))
    if f.tag:
        active = sa.select(NetworkTag.network_id).where(NetworkTag.org_id == org_id,
                                                        NetworkTag.removed_at.is_(None))
        if f.tag == "none":
            out.append(Network.id.not_in(active))
        else:
            out.append(Network.id.in_(active if f.tag == "any" else active.where(NetworkTag.tag == f.tag)))
    terms = parse_ssid(f.ssid)
    positives = [Network.ssid.ilike(t.pattern, escape="\\") for t in terms if not t.negate]
    if positives:
        out.append(sa.or_(*positives))
    out += [sa.not_(Network.ssid.ilike(t.pattern, escape="\\")) for t in terms if t.negate]
    if f.bssid:
        out.append(Network.bssid.like(wildcard_pattern(f.bssid, anchored_when_plain=True), escape="\\"))
    if f.manufacturer:
        out.append(Network.manufacturer.ilike(wildcard_pattern(f.manufacturer, anchored_when_plain=False),
                                              escape="\\"))
    if f.first_from:
        out.append(Network.firsttime_ms >= _ms(f.first_from))
    if f.first_to:
        out.append(Network.firsttime_ms <= _ms(f.first_to, end=True))
    if f.last_from:
        out.append(Network.lasttime_ms >= _ms(f.last_from))
    if f.last_to:
        out.append(Network.lasttime_ms <= _ms(f.last_to, end=True))
    if f.signal_min is not None:
        out.append(Network.bestlevel >= f.signal_min)
    if f.signal_max is not None:
        out.append(Network.bestlevel <= f.signal_max)
    if f.near and f.km:
        out.append(_near_condition(f, org_id))
    if f.source_ids:
        out.append(Network.id.in_(sa.select(Observation.network_id).where(
            Observation.org_id == org_id, Observation.source_id.in_(f.source_ids))))
    if f.import_id is not None:
        out.append(Network.id.in_(sa.select(Observation.network_id).where(
            Observation.org_id == org_id, Observation.import_id == f.import_id)))
    return out


def _near_condition(f: NetworkFilter, org_id: int) -> Any:
    # The networks near a place are usually few. Reading their ids once (the box on the
    # observations' lat/lon index does the work) and filtering by that list lets the page
    # and the count each use it, instead of the planner probing every network's sightings
    # in sort order. Past NEAR_IDS_CAP the subquery is left to the database.
    key = (org_id, f.near, f.km, f.office_id, f.centre)
    if f._near_key != key:
        rows = db.session.scalars(_near_ids(f, org_id).distinct().limit(NEAR_IDS_CAP + 1)).all()
        f._near_key, f._near_ids = key, (list(rows) if len(rows) <= NEAR_IDS_CAP else None)
    if f._near_ids is None:
        return Network.id.in_(_near_ids(f, org_id))
    return Network.id.in_(f._near_ids)


def apply_filters(stmt: sa.Select, f: NetworkFilter, org_id: int) -> sa.Select:
    """`stmt` (anything selecting from or joined to networks) narrowed by the filter."""
    return stmt.where(*conditions(f, org_id))


def ordering(f: NetworkFilter) -> list[Any]:
    """ORDER BY for the filter's sort (whitelisted), NULLs last, with id as the tie-break."""
    column = SORTS[f.sort]
    first = column.desc() if f.direction == "desc" else column.asc()
    tie = Network.id.desc() if f.direction == "desc" else Network.id.asc()
    # NULLS LAST only where a column can be NULL: on a NOT NULL column it would stop
    # PostgreSQL from walking the (org_id, column) index for the first page.
    if f.sort in NULLABLE_SORTS:
        first = first.nulls_last()
    return [first, tie]


def filtered_networks(f: NetworkFilter, org_id: int) -> sa.Select:
    """select(Network) narrowed and sorted by the filter."""
    return apply_filters(sa.select(Network), f, org_id).order_by(*ordering(f))
