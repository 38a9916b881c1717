"""Wireless surveillance detection (seed 000, ShadowCheck): the radios an organization's
collectors saw, where and when, and what Vigil concluded about each.

Seed 000 was single-tenant and keyed networks by their BSSID text. Vigil keys every table by
an integer id, keeps `bssid` as a natural key unique per organization, and points children at
`networks.id`. PostGIS columns become plain `lat`/`lon` (and a JSON path for routes) so one
model runs on PostgreSQL and SQLite; distance filters use a bounding box on indexed columns
before the exact haversine test.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import OrgOwnedMixin, db, utcnow

# Seed 000's one-letter radio types (WiGLE's Android database uses the same letters).
RADIO_TYPES = {
    "W": "Wi-Fi",
    "B": "Bluetooth",
    "E": "Bluetooth LE",
    "G": "GSM",
    "C": "CDMA",
    "D": "WCDMA",
    "L": "LTE",
    "N": "NR (5G)",
}
CELLULAR_TYPES = ("G", "C", "D", "L", "N")
THREAT_LEVELS = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "NONE")
TAGS = ("THREAT", "SUSPECT", "INVESTIGATE", "FALSE_POSITIVE", "LEGIT")
MEDIA_TYPES = ("image", "audio", "video", "document")
SOURCE_TYPES = ("wigle", "kismet", "manual", "scenario")
ENCRYPTIONS = ("open", "wep", "wpa", "wpa2", "wpa3", "unknown")
IMPORT_FORMATS = ("wigle_csv", "wigle_sqlite", "kismet_sqlite", "kismet_netxml")
IMPORT_STATUSES = ("queued", "running", "succeeded", "failed")

NATURAL_KEY_COLUMNS = ("org_id", "source_id", "source_pk", "bssid", "level", "lat", "lon", "altitude", "accuracy",
                       "observed_at_ms", "external", "mfgrid")
# Schema objects a migration creates per dialect and the model does not declare: the drift
# check (migrations/env.py) leaves them out. 0029: the natural-key hash (PostgreSQL only);
# 0037: the map's DESC NULLS LAST expression index (its form differs by dialect); 0038: the
# map's expression index on where a network is drawn (a CASE the models cannot declare).
db.metadata.info.setdefault("dialect_only", {}).setdefault("postgresql", set()).update(
    {"natural_key", "uq_observations_natural_key", "ix_networks_org_threat_map", "ix_networks_org_map_pos"})
db.metadata.info["dialect_only"].setdefault("sqlite", set()).update(
    {"ix_networks_org_threat_map", "ix_networks_org_map_pos"})

# bigint on PostgreSQL; SQLite only auto-increments an INTEGER PRIMARY KEY.
BigId = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def _in(column: str, values: tuple[str, ...] | dict[str, str]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class DeviceSource(OrgOwnedMixin, db.Model):
    """A collector (a phone running WiGLE, a Kismet box) whose files the organization imports."""

    __tablename__ = "device_sources"
    __table_args__ = (
        sa.UniqueConstraint("org_id", "code"),
        sa.CheckConstraint(_in("device_type", SOURCE_TYPES), name="device_type"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(64))
    name: Mapped[str] = mapped_column(sa.String(200))
    device_type: Mapped[str] = mapped_column(sa.String(20), default="wigle")
    description: Mapped[str | None] = mapped_column(sa.Text)
    # Incremental imports: the newest source row already read, per format (e.g. WiGLE
    # backup location._id), so a second import of a grown backup reads only new rows.
    import_marks: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Network(OrgOwnedMixin, db.Model):
    """One radio (Wi-Fi BSSID, Bluetooth address or cell id), summarised from its sightings."""

    __tablename__ = "networks"
    __table_args__ = (
        sa.UniqueConstraint("org_id", "bssid"),
        sa.CheckConstraint("bssid = upper(bssid)", name="bssid_upper"),
        sa.CheckConstraint(_in("type", RADIO_TYPES), name="type"),
        sa.CheckConstraint(f"threat_level IS NULL OR {_in('threat_level', THREAT_LEVELS)}",
                           name="threat_level"),
        sa.Index("ix_networks_org_threat", "org_id", "threat_score_v2"),
        sa.Index("ix_networks_org_lasttime", "org_id", "lasttime_ms"),
        sa.Index("ix_networks_org_dirty", "org_id", "needs_rescore"),
        sa.Index("ix_networks_org_level", "org_id", "threat_level"),
        # The explorer's sortable NOT NULL columns (migration 0011): the first page of a sort
        # walks one of these instead of sorting every network of the organization.
        sa.Index("ix_networks_org_firsttime", "org_id", "firsttime_ms"),
        sa.Index("ix_networks_org_bestlevel", "org_id", "bestlevel"),
        sa.Index("ix_networks_org_obs_count", "org_id", "observation_count"),
        sa.Index("ix_networks_org_ssid", "org_id", "ssid"),
        # The map's most threatening first (DESC NULLS LAST): ix_networks_org_threat_map, an
        # expression index created by migration 0037 only (its form differs by dialect).
        # The map's view (where a network is drawn, app/wireless/map_data.map_lat/map_lon):
        # ix_networks_org_map_pos, an expression index created by migration 0038 only.
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # No org_id index of its own (migration 0029): (org_id, bssid) and the (org_id, ...)
    # indexes above serve every query by organization, and each index is written on every
    # aggregate update (none of them is HOT).
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False)
    bssid: Mapped[str] = mapped_column(sa.String(64))
    ssid: Mapped[str] = mapped_column(sa.String(255), default="")
    type: Mapped[str] = mapped_column(sa.String(1))
    frequency: Mapped[int] = mapped_column(default=0)
    capabilities: Mapped[str] = mapped_column(sa.String(255), default="")
    encryption: Mapped[str] = mapped_column(sa.String(10), default="unknown")
    service: Mapped[str] = mapped_column(sa.String(255), default="")
    rcois: Mapped[str] = mapped_column(sa.String(255), default="")
    mfgrid: Mapped[int] = mapped_column(default=0)
    manufacturer: Mapped[str | None] = mapped_column(sa.String(200), index=True)
    is_randomized_mac: Mapped[bool] = mapped_column(default=False)
    firsttime_ms: Mapped[int] = mapped_column(sa.BigInteger)
    lasttime_ms: Mapped[int] = mapped_column(sa.BigInteger)
    lastlat: Mapped[float] = mapped_column(sa.Double)
    lastlon: Mapped[float] = mapped_column(sa.Double)
    bestlevel: Mapped[int] = mapped_column(default=-200)
    bestlat: Mapped[float] = mapped_column(sa.Double, default=0)
    bestlon: Mapped[float] = mapped_column(sa.Double, default=0)
    observation_count: Mapped[int] = mapped_column(default=0)
    source_device_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("device_sources.id", ondelete="SET NULL"), index=True
    )
    threat_score_v2: Mapped[Decimal | None] = mapped_column(sa.Numeric(5, 1))
    rule_score: Mapped[float | None] = mapped_column(sa.Float)
    threat_factors: Mapped[dict[str, Any] | None] = mapped_column()
    threat_level: Mapped[str | None] = mapped_column(sa.String(20))
    threat_updated_at: Mapped[datetime | None] = mapped_column()
    # Set when new sightings arrive or a tag changes; the rescore job clears it.
    needs_rescore: Mapped[bool] = mapped_column(default=True)
    wigle_enriched_at: Mapped[datetime | None] = mapped_column()

    source_device: Mapped[DeviceSource | None] = relationship()

    @property
    def radio_label(self) -> str:
        return RADIO_TYPES.get(self.type, self.type)

    @property
    def is_cellular(self) -> bool:
        return self.type in CELLULAR_TYPES


class Observation(OrgOwnedMixin, db.Model):
    """One sighting of a network by a collector: signal, position, time."""

    __tablename__ = "observations"
    __table_args__ = (
        # The seed's natural key (observations_v2_natural_uniq), per organization: a file
        # imported twice adds nothing. This 12-column constraint is SQLite's; on PostgreSQL
        # (migration 0029) the same rule is ONE unique index on the generated 16-byte
        # `natural_key` (SHA-256 of these columns), declared only in the migration.
        sa.UniqueConstraint(
            *NATURAL_KEY_COLUMNS, name="uq_observations_natural", info={"only_on": "sqlite"},
        ),
        sa.CheckConstraint("bssid = upper(bssid)", name="bssid_upper"),
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"], ondelete="CASCADE",
                                name="fk_observations_network_id_networks", info={"only_on": "sqlite"}),
        sa.Index("ix_observations_network_time", "network_id", "time"),
        sa.Index("ix_observations_source_time", "source_id", "time"),
        sa.Index("ix_observations_org_lat_lon", "org_id", "lat", "lon"),
        # Block ranges, not a btree (PostgreSQL, migration 0038): an import appends its rows,
        # so they sit together in the heap; the explorer's import filter reads them through
        # this, and each inserted row costs the index next to nothing. SQLite: a btree.
        sa.Index("ix_observations_import_id", "import_id", postgresql_using="brin",
                 postgresql_with={"autosummarize": "on"}),
        # Newest sightings first (time-window filters, the map's newest sightings in a full box;
        # migration 0038_map_viewport): it replaced (org_id, time), whose queries it serves too,
        # and the box is tested inside the index, so skipped sightings cost no table visit.
        sa.Index("ix_observations_org_time_map", "org_id", "time", "id",
                 postgresql_include=["lat", "lon", "network_id", "level"]),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # No foreign keys on PostgreSQL (migrations 0029 and 0038): a sighting's organization is
    # its network's, sources and imports are never deleted on their own, and each key's check
    # was a lookup (network_id's: a row lock) per inserted row. Deleting networks (an
    # organization's, by cascade) deletes their sightings through a statement trigger on
    # networks (0038). SQLite keeps network_id's foreign key (the constraint above).
    # No org_id index of its own: (org_id, ...) below.
    org_id: Mapped[int] = mapped_column(nullable=False)
    network_id: Mapped[int] = mapped_column()
    source_id: Mapped[int] = mapped_column()
    # Which import added the row (the explorer's import filter; the BRIN index above).
    import_id: Mapped[int | None] = mapped_column()
    bssid: Mapped[str] = mapped_column(sa.String(64))
    ssid: Mapped[str | None] = mapped_column(sa.String(255))
    radio_type: Mapped[str | None] = mapped_column(sa.String(1))
    radio_frequency: Mapped[int | None] = mapped_column()
    radio_capabilities: Mapped[str | None] = mapped_column(sa.String(255))
    radio_service: Mapped[str | None] = mapped_column(sa.String(255))
    radio_rcois: Mapped[str | None] = mapped_column(sa.String(255))
    radio_lasttime_ms: Mapped[int | None] = mapped_column(sa.BigInteger)
    level: Mapped[int] = mapped_column()
    lat: Mapped[float] = mapped_column(sa.Double)
    lon: Mapped[float] = mapped_column(sa.Double)
    altitude: Mapped[float] = mapped_column(sa.Double, default=0)
    accuracy: Mapped[float] = mapped_column(sa.Double, default=0)
    time: Mapped[datetime] = mapped_column()
    observed_at_ms: Mapped[int] = mapped_column(sa.BigInteger)
    time_ms: Mapped[int] = mapped_column(sa.BigInteger)
    external: Mapped[bool] = mapped_column(default=False)
    mfgrid: Mapped[int] = mapped_column(default=0)
    source_tag: Mapped[str] = mapped_column(sa.String(64), default="")
    source_pk: Mapped[str] = mapped_column(sa.String(128), default="")
    # Stamped before 2000 (a collector without a clock fix): kept for places, maps and
    # counts, left out of every time-based aggregate and scoring factor.
    time_unknown: Mapped[bool] = mapped_column(default=False, server_default=sa.false())


class SsidHistory(OrgOwnedMixin, db.Model):
    """Each name a network has broadcast, with when and how often (SSID changes are a signal)."""

    __tablename__ = "ssid_history"
    __table_args__ = (sa.UniqueConstraint("network_id", "ssid"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    network_id: Mapped[int] = mapped_column(sa.ForeignKey("networks.id", ondelete="CASCADE"))
    ssid: Mapped[str] = mapped_column(sa.String(255), index=True)
    first_seen: Mapped[datetime] = mapped_column()
    last_seen: Mapped[datetime] = mapped_column()
    observation_count: Mapped[int] = mapped_column(default=0)


class NetworkTag(OrgOwnedMixin, db.Model):
    """An analyst's classification of a network. Rows are never edited away: removing a tag
    stamps `removed_at`, so the tag history is the table itself."""

    __tablename__ = "network_tags"
    __table_args__ = (
        sa.CheckConstraint(_in("tag", TAGS), name="tag"),
        sa.CheckConstraint("confidence IS NULL OR (confidence >= 0 AND confidence <= 1)",
                           name="confidence"),
        sa.Index("ix_network_tags_network", "network_id", "removed_at"),
        sa.Index("ix_network_tags_org_tag", "org_id", "tag"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(sa.ForeignKey("networks.id", ondelete="CASCADE"))
    tag: Mapped[str] = mapped_column(sa.String(20))
    is_threat: Mapped[bool] = mapped_column(default=False)
    confidence: Mapped[float | None] = mapped_column(sa.Float)
    notes: Mapped[str | None] = mapped_column(sa.Text)
    tagged_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    tagged_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column()
    removed_at: Mapped[datetime | None] = mapped_column()
    removed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))


class NetworkNote(OrgOwnedMixin, db.Model):
    """A markdown note on a network (rendered sanitized)."""

    __tablename__ = "network_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(sa.ForeignKey("networks.id", ondelete="CASCADE"), index=True)
    note: Mapped[str] = mapped_column(sa.Text)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column()


class NetworkMedia(OrgOwnedMixin, db.Model):
    """A photo, recording, video or document attached to a network, stored under instance/."""

    __tablename__ = "network_media"
    __table_args__ = (sa.CheckConstraint(_in("media_type", MEDIA_TYPES), name="media_type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(sa.ForeignKey("networks.id", ondelete="CASCADE"), index=True)
    media_type: Mapped[str] = mapped_column(sa.String(10))
    file_path: Mapped[str] = mapped_column(sa.String(500))
    original_filename: Mapped[str] = mapped_column(sa.String(255))
    file_size: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    mime_type: Mapped[str] = mapped_column(sa.String(100))
    thumbnail_path: Mapped[str | None] = mapped_column(sa.String(500))
    captured_at: Mapped[datetime] = mapped_column(default=utcnow)
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    description: Mapped[str | None] = mapped_column(sa.Text)


class MapNetworkCell(db.Model):
    """How many networks of one threat rank the map draws in one grid cell at one zoom level
    (a pyramid, levels 0..15, cell = 90 / 2**level degrees), with the sums of their positions.

    Kept by PostgreSQL itself (statement triggers on networks, migration 0038): every insert,
    delete and change of position or level adds or subtracts, whichever code path did it
    (importer, rescoring, editing). The map's clusters then read the cells of their view, a
    number bounded by the view, not by how many networks are in it. Rows may hold n = 0 after
    deletes (readers skip them). Not kept on SQLite (no transition tables): the map
    aggregates the networks there.
    """

    __tablename__ = "map_network_cells"

    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    zoom: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True)
    cx: Mapped[int] = mapped_column(primary_key=True)
    cy: Mapped[int] = mapped_column(primary_key=True)
    rank: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True)  # 0 unscored .. 5 critical
    n: Mapped[int] = mapped_column(default=0)
    sum_lat: Mapped[float] = mapped_column(sa.Double, default=0)
    sum_lon: Mapped[float] = mapped_column(sa.Double, default=0)


class NetworkThreatScore(OrgOwnedMixin, db.Model):
    """One scoring of a network: rule score, model score, blend and the factor breakdown."""

    __tablename__ = "network_threat_scores"
    __table_args__ = (sa.Index("ix_network_threat_scores_network_time", "network_id", "calculated_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    network_id: Mapped[int] = mapped_column(sa.ForeignKey("networks.id", ondelete="CASCADE"))
    rule_score: Mapped[float] = mapped_column(sa.Float)
    ml_score: Mapped[float | None] = mapped_column(sa.Float)
    ml_weight: Mapped[float | None] = mapped_column(sa.Float)
    ml_boost: Mapped[float | None] = mapped_column(sa.Float)
    combined_score: Mapped[float] = mapped_column(sa.Float)
    threat_level: Mapped[str] = mapped_column(sa.String(20))
    calculated_at: Mapped[datetime] = mapped_column(default=utcnow)
    model_version: Mapped[str | None] = mapped_column(sa.String(50))
    factors: Mapped[dict[str, Any] | None] = mapped_column()


class LocationMarker(OrgOwnedMixin, db.Model):
    """A named place on the map; at most one per organization is home."""

    __tablename__ = "location_markers"
    __table_args__ = (
        sa.Index("uq_location_markers_one_home", "org_id", unique=True,
                 postgresql_where=sa.text("is_home"), sqlite_where=sa.text("is_home")),
        sa.CheckConstraint("lat BETWEEN -90 AND 90 AND lon BETWEEN -180 AND 180", name="lat_lon"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)
    lat: Mapped[float] = mapped_column(sa.Double)
    lon: Mapped[float] = mapped_column(sa.Double)
    is_home: Mapped[bool] = mapped_column(default=False)
    radius_km: Mapped[float | None] = mapped_column(sa.Float)
    color: Mapped[str] = mapped_column(sa.String(7), default="#3b82f6")
    icon: Mapped[str] = mapped_column(sa.String(30), default="marker")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))


class Route(OrgOwnedMixin, db.Model):
    """A path built from one collector's sightings over a time window."""

    __tablename__ = "routes"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)
    source_id: Mapped[int | None] = mapped_column(sa.ForeignKey("device_sources.id", ondelete="SET NULL"))
    # [[lat, lon], ...] (the seed's LineString), thinned to points >= a few metres apart.
    path: Mapped[list[Any]] = mapped_column(default=list)
    distance_km: Mapped[float | None] = mapped_column(sa.Float)
    duration_seconds: Mapped[int | None] = mapped_column()
    # Sightings the route was built from (the path keeps fewer: thinned by distance).
    point_count: Mapped[int] = mapped_column(default=0, server_default="0")
    recorded_at: Mapped[datetime] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()
    color: Mapped[str] = mapped_column(sa.String(7), default="#ef4444")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))


class GeocodingCache(OrgOwnedMixin, db.Model):
    """A reverse-geocoding answer for a rounded position. Per organization, because where an
    organization's people go is theirs alone."""

    __tablename__ = "geocoding_cache"
    __table_args__ = (sa.UniqueConstraint("org_id", "source", "lat_key", "lon_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    lat: Mapped[float] = mapped_column(sa.Double)
    lon: Mapped[float] = mapped_column(sa.Double)
    # Position rounded to 4 decimals (about 11 m): the cache key.
    lat_key: Mapped[int] = mapped_column()
    lon_key: Mapped[int] = mapped_column()
    address: Mapped[str | None] = mapped_column(sa.Text)
    venue_name: Mapped[str | None] = mapped_column(sa.String(255))
    venue_type: Mapped[str | None] = mapped_column(sa.String(100))
    source: Mapped[str] = mapped_column(sa.String(30))
    cached_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(index=True)
    raw_response: Mapped[dict[str, Any] | None] = mapped_column()


class WigleV3Observation(OrgOwnedMixin, db.Model):
    """A sighting of a network reported by WiGLE (not by the organization's collectors)."""

    __tablename__ = "wigle_v3_observations"
    __table_args__ = (sa.UniqueConstraint("network_id", "observed_at", "lat", "lon"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    network_id: Mapped[int] = mapped_column(sa.ForeignKey("networks.id", ondelete="CASCADE"), index=True)
    bssid: Mapped[str] = mapped_column(sa.String(64))
    ssid: Mapped[str | None] = mapped_column(sa.String(255))
    lat: Mapped[float] = mapped_column(sa.Double)
    lon: Mapped[float] = mapped_column(sa.Double)
    trilat: Mapped[float] = mapped_column(sa.Double)
    trilong: Mapped[float] = mapped_column(sa.Double)
    observed_at: Mapped[datetime | None] = mapped_column()
    level: Mapped[int | None] = mapped_column()
    source: Mapped[str] = mapped_column(sa.String(30))
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)
    wigle_id: Mapped[str | None] = mapped_column(sa.String(100))


class WigleV3NetworkDetail(OrgOwnedMixin, db.Model):
    """WiGLE's record of a network (first seen, encryption, place), one per network."""

    __tablename__ = "wigle_v3_network_details"
    __table_args__ = (sa.UniqueConstraint("network_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(sa.ForeignKey("networks.id", ondelete="CASCADE"))
    bssid: Mapped[str] = mapped_column(sa.String(64))
    ssid: Mapped[str | None] = mapped_column(sa.String(255))
    encryption: Mapped[str | None] = mapped_column(sa.String(30))
    channel: Mapped[int | None] = mapped_column()
    frequency: Mapped[int | None] = mapped_column()
    first_seen: Mapped[datetime | None] = mapped_column()
    last_update: Mapped[datetime | None] = mapped_column()
    country: Mapped[str | None] = mapped_column(sa.String(2))
    region: Mapped[str | None] = mapped_column(sa.String(100))
    city: Mapped[str | None] = mapped_column(sa.String(100))
    trilat: Mapped[float | None] = mapped_column(sa.Double)
    trilong: Mapped[float | None] = mapped_column(sa.Double)
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)
    raw_response: Mapped[dict[str, Any] | None] = mapped_column()


class WigleApiCall(OrgOwnedMixin, db.Model):
    """The WiGLE quota ledger: one row per request that WiGLE counts (a retry after a refusal
    that WiGLE did not count is not a row), summed over the last 24 hours."""

    __tablename__ = "wigle_api_calls"
    __table_args__ = (sa.Index("ix_wigle_api_calls_org_time", "org_id", "requested_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    endpoint: Mapped[str] = mapped_column(sa.String(100))
    bssid: Mapped[str | None] = mapped_column(sa.String(64))
    status_code: Mapped[int | None] = mapped_column()
    outcome: Mapped[str] = mapped_column(sa.String(30))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)


# The provider key of an organization's OpenAI-compatible AI service: set up under Metrics
# (app/metrics/ai.py), also used by the attack-surface report's narrative (app/surface/reports.py).
AI_PROVIDER_KEY = "metrics_ai"


class ProviderCredential(OrgOwnedMixin, db.Model):
    """An organization's key for an outside service (WiGLE, a geocoder), stored encrypted."""

    __tablename__ = "provider_credentials"
    __table_args__ = (sa.UniqueConstraint("org_id", "provider"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(sa.String(30))
    api_name: Mapped[str | None] = mapped_column(sa.String(200))
    secret_encrypted: Mapped[str] = mapped_column(sa.Text)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))


class AgencyOffice(db.Model):
    """A law-enforcement office (FBI field office or resident agency): global reference data."""

    __tablename__ = "agency_offices"
    __table_args__ = (
        sa.UniqueConstraint("name", "office_type"),
        sa.Index("ix_agency_offices_lat_lon", "lat", "lon"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    office_type: Mapped[str] = mapped_column(sa.String(30), index=True)
    lat: Mapped[float] = mapped_column(sa.Double)
    lon: Mapped[float] = mapped_column(sa.Double)
    address: Mapped[str] = mapped_column(sa.String(300))
    city: Mapped[str] = mapped_column(sa.String(100))
    state: Mapped[str] = mapped_column(sa.String(2), index=True)
    postal_code: Mapped[str] = mapped_column(sa.String(20))
    phone: Mapped[str] = mapped_column(sa.String(20))
    phone_original: Mapped[str | None] = mapped_column(sa.String(40))
    website: Mapped[str | None] = mapped_column(sa.String(300))
    parent_office: Mapped[str | None] = mapped_column(sa.String(200))
    source: Mapped[str | None] = mapped_column(sa.String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RadioManufacturer(db.Model):
    """IEEE OUI prefix -> manufacturer (global reference data, loaded from a package)."""

    __tablename__ = "radio_manufacturers"

    id: Mapped[int] = mapped_column(primary_key=True)
    # 6 hex digits (MA-L); 7 or 9 for the smaller MA-M / MA-S blocks.
    oui_prefix: Mapped[str] = mapped_column(sa.String(9), unique=True)
    manufacturer: Mapped[str] = mapped_column(sa.String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class MlModelMetadata(OrgOwnedMixin, db.Model):
    """A trained model of an organization's tagged networks; one may be active."""

    __tablename__ = "ml_model_metadata"
    __table_args__ = (
        sa.Index("uq_ml_model_metadata_one_active", "org_id", unique=True,
                 postgresql_where=sa.text("is_active"), sqlite_where=sa.text("is_active")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    model_type: Mapped[str] = mapped_column(sa.String(40))
    version: Mapped[str] = mapped_column(sa.String(50))
    accuracy: Mapped[float | None] = mapped_column(sa.Float)
    precision: Mapped[float | None] = mapped_column(sa.Float)
    recall: Mapped[float | None] = mapped_column(sa.Float)
    f1_score: Mapped[float | None] = mapped_column(sa.Float)
    roc_auc: Mapped[float | None] = mapped_column(sa.Float)
    trained_at: Mapped[datetime] = mapped_column(default=utcnow)
    is_active: Mapped[bool] = mapped_column(default=False)
    model_path: Mapped[str | None] = mapped_column(sa.String(500))
    checksum: Mapped[str | None] = mapped_column(sa.String(64))
    feature_names: Mapped[list[str]] = mapped_column(default=list)


class MlTrainingHistory(OrgOwnedMixin, db.Model):
    """One training run: samples, hyperparameters, cross-validation and importances."""

    __tablename__ = "ml_training_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(sa.ForeignKey("ml_model_metadata.id", ondelete="CASCADE"), index=True)
    training_samples: Mapped[int] = mapped_column()
    threat_samples: Mapped[int] = mapped_column()
    benign_samples: Mapped[int] = mapped_column()
    hyperparameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    cross_val_scores: Mapped[dict[str, Any] | None] = mapped_column()
    feature_importance: Mapped[dict[str, Any] | None] = mapped_column()
    trained_at: Mapped[datetime] = mapped_column(default=utcnow)
    duration_seconds: Mapped[float | None] = mapped_column(sa.Float)
    notes: Mapped[str | None] = mapped_column(sa.Text)


class WirelessImport(OrgOwnedMixin, db.Model):
    """One imported file: what it was, what came of its rows, and the rejects' report."""

    __tablename__ = "wireless_imports"
    __table_args__ = (
        sa.CheckConstraint(_in("status", IMPORT_STATUSES), name="status"),
        sa.CheckConstraint(f"format IS NULL OR {_in('format', IMPORT_FORMATS)}", name="format"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int | None] = mapped_column(sa.ForeignKey("device_sources.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(sa.String(255))
    stored_path: Mapped[str | None] = mapped_column(sa.String(500))
    format: Mapped[str | None] = mapped_column(sa.String(20))
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(20), default="queued")
    rows_read: Mapped[int] = mapped_column(default=0)
    rows_imported: Mapped[int] = mapped_column(default=0)
    rows_duplicate: Mapped[int] = mapped_column(default=0)
    rows_rejected: Mapped[int] = mapped_column(default=0)
    # Of the imported rows, those stamped before 2000 (kept with their time unknown).
    rows_time_unknown: Mapped[int] = mapped_column(default=0, server_default="0")
    networks_touched: Mapped[int] = mapped_column(default=0)
    # PostgreSQL folds an import's new observations into networks and ssid_history in bulk:
    # rows with id <= folded_id are folded; fold_pending says some committed rows are not yet.
    folded_id: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    fold_pending: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # [{"line": n, "reason": "..."}], capped (the count above is exact).
    errors: Mapped[list[Any]] = mapped_column(default=list)
    message: Mapped[str | None] = mapped_column(sa.Text)
    job_run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("job_runs.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
