"""The platform settings an administrator may change at run time, and reading them.

Each known key has a type, a default and a description; a value is stored in the
`settings` table only once someone changes it, so `get_setting` falls back to the
default. Nothing reads these yet except through `get_setting` (auth still takes its
limits from the environment).

In the core (issue 21) because every domain reads its settings here; the admin pages edit
them.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from app import audit
from app.models import Setting, db, utcnow


@dataclass(frozen=True)
class SettingSpec:
    key: str
    kind: str  # "int", "choice", "tile_url", "pmtiles_url" or "ipv4_network"
    default: Any
    description: str
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] | None = None
    unit: str | None = None
    # A rule across settings: the message why a parsed value cannot be saved, or None.
    check: Callable[[Any], str | None] | None = None

    def parse(self, raw: Any) -> Any:
        """The typed value of what was typed, or ValueError with a message for the form."""
        text = str(raw if raw is not None else "").strip()
        if self.kind == "int":
            try:
                value = int(text)
            except ValueError:
                raise ValueError("Enter a whole number.") from None
            if (self.minimum is not None and value < self.minimum) or (
                self.maximum is not None and value > self.maximum
            ):
                raise ValueError(f"Enter a number from {self.minimum} to {self.maximum}.")
            return value
        if self.kind == "choice":
            if text not in (self.choices or ()):
                raise ValueError(f"Choose one of: {', '.join(self.choices or ())}.")
            return text
        if self.kind == "tile_url":
            return parse_tile_url(text)
        if self.kind == "ipv4_network":
            return parse_overlay_network(text)
        if self.kind == "pmtiles_url":
            return parse_pmtiles_url(text)
        raise ValueError(f"unknown setting kind {self.kind!r}")

    @property
    def rule(self) -> str:
        """The allowed values, in words (shown next to the field)."""
        if self.kind == "int":
            unit = f" {self.unit}" if self.unit else ""
            return f"A whole number from {self.minimum} to {self.maximum}{unit}."
        if self.kind == "tile_url":
            return "Empty (offline outlines), or an http(s) URL with {z}, {x} and {y} (and optionally {s})."
        if self.kind == "ipv4_network":
            return "A private or shared-address (100.64.0.0/10) IPv4 network from /8 to /24, e.g. 100.64.0.0/16."
        if self.kind == "pmtiles_url":
            return "Empty (no self-hosted basemap), a path on this server (/static/...) or an http(s) URL of a .pmtiles file."
        return f"One of: {', '.join(self.choices or ())}."


_TILE_HOST = re.compile(r"^(\{s\}\.)?[A-Za-z0-9.-]+(:[0-9]{1,5})?$")


def parse_tile_url(text: str) -> str:
    """A map tile URL template, or "" for none. The host goes into the map page's CSP, so
    it is held to plain host characters (no spaces, quotes or semicolons can get through)."""
    if not text:
        return ""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not _TILE_HOST.match(parts.netloc):
        raise ValueError("Enter an http:// or https:// URL with a plain host name.")
    if len(text) > 500 or any(ch in text for ch in " \t\"';,<>"):
        raise ValueError("Enter at most 500 characters, without spaces, quotes, commas or semicolons.")
    if not all(part in text for part in ("{z}", "{x}", "{y}")):
        raise ValueError("The URL needs the {z}, {x} and {y} placeholders.")
    return text


def parse_overlay_network(text: str) -> str:
    """An IPv4 network in private (RFC 1918) or shared (RFC 6598, 100.64.0.0/10) space."""
    try:
        network = ipaddress.IPv4Network(text, strict=True)
    except ValueError:
        raise ValueError("Enter an IPv4 network such as 100.64.0.0/16 (host bits zero).") from None
    if not 8 <= network.prefixlen <= 24:
        raise ValueError("Use a prefix from /8 to /24.")
    shared = ipaddress.IPv4Network("100.64.0.0/10")
    if not (network.is_private or network.subnet_of(shared)):
        raise ValueError("Use private (10/8, 172.16/12, 192.168/16) or shared (100.64.0.0/10) address space.")
    return str(network)


_PMTILES_PATH = re.compile(r"^/[A-Za-z0-9._~/-]+\.pmtiles$")


def parse_pmtiles_url(text: str) -> str:
    """A self-hosted PMTiles basemap: "" for none, a path on this server, or an http(s) URL
    (whose host joins the map pages' CSP, so it is held to the same plain characters)."""
    if not text:
        return ""
    if text.startswith("/"):
        if not _PMTILES_PATH.match(text) or ".." in text:
            raise ValueError("Enter a path like /static/basemap.pmtiles (letters, digits, . _ - / only).")
        return text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not _TILE_HOST.match(parts.netloc) or "{" in parts.netloc:
        raise ValueError("Enter a path on this server or an http:// or https:// URL with a plain host name.")
    if len(text) > 500 or any(ch in text for ch in " \t\"';,<>{}"):
        raise ValueError("Enter at most 500 characters, without spaces, quotes, braces, commas or semicolons.")
    if not parts.path.endswith(".pmtiles"):
        raise ValueError("The URL must name a .pmtiles file.")
    return text


def _int(key: str, default: int, low: int, high: int, description: str, unit: str | None = None,
         check: Callable[[Any], str | None] | None = None) -> SettingSpec:
    return SettingSpec(key, "int", default, description, minimum=low, maximum=high, unit=unit, check=check)


# The metrics scorer's rating floors, best first; each must be below the one before it.
RATING_KEYS = ("metrics.rating_very_low", "metrics.rating_low", "metrics.rating_medium", "metrics.rating_high")
RATING_DEFAULTS = (90, 75, 50, 30)


def _rating_check(key: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        floors = [value if k == key else get_setting(k) for k in RATING_KEYS]
        if any(a <= b for a, b in zip(floors, floors[1:], strict=False)):
            return ("Rating floors must go down from very low to high risk: "
                    + " > ".join(str(f) for f in floors) + " is not in descending order.")
        return None
    return check


# The fleet overlay: one network, and host numbers inside it by organization type. Host
# numbers rather than addresses, so moving the network keeps the split.
OVERLAY_KEYS = ("fleet.overlay_internal_first", "fleet.overlay_internal_last",
                "fleet.overlay_customer_first", "fleet.overlay_customer_last")


def _overlay_check(key: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        network = ipaddress.IPv4Network(value if key == "fleet.overlay_network" else get_setting("fleet.overlay_network"))
        first_i, last_i, first_c, last_c = (value if k == key else get_setting(k) for k in OVERLAY_KEYS)
        top = network.num_addresses - 2  # the network and broadcast addresses are not hosts
        if not (1 <= first_i <= last_i and 1 <= first_c <= last_c):
            return "Each range must start at 1 or more and end at or after its start."
        if max(last_i, last_c) > top:
            return f"{network} has host numbers 1 to {top}; a range ends beyond that."
        if first_i <= last_c and first_c <= last_i:
            return "The internal and customer ranges overlap."
        return None
    return check


def rating_thresholds() -> tuple[int, ...]:
    """The four rating floors; the defaults if the stored ones are not in descending order."""
    floors = tuple(get_setting(k) for k in RATING_KEYS)
    return floors if all(a > b for a, b in zip(floors, floors[1:], strict=False)) else RATING_DEFAULTS


OSM_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"

# Defaults match app/config.py, so a stored value is only ever a deliberate change.
SETTINGS: dict[str, SettingSpec] = {
    spec.key: spec
    for spec in (
        _int("security.lockout_threshold", 5, 1, 50,
             "Failed sign-ins inside the window that lock an account."),
        _int("security.lockout_window_minutes", 15, 1, 1440,
             "How far back failed sign-ins are counted towards a lockout.", "minutes"),
        _int("security.lockout_minutes", 30, 1, 1440,
             "How long a locked account stays locked.", "minutes"),
        _int("security.session_hours", 12, 1, 720,
             "How long a sign-in lasts before the user must sign in again.", "hours"),
        SettingSpec("ui.default_theme", "choice", "auto",
                    "Colour theme for users who have not chosen one.", choices=("light", "dark", "auto")),
        _int("notifications.max_failures", 5, 1, 100,
             "Consecutive delivery failures after which a notification channel is disabled."),
        _int("fleet.online_minutes", 3, 1, 60,
             "A device counts as online while its last heartbeat is at most this old.", "minutes"),
        _int("fleet.rollup_retention_days", 90, 1, 3650,
             "5-minute metric rollups older than this are deleted.", "days"),
        _int("fleet.facts_keep", 30, 1, 1000,
             "Facts snapshots kept per device (the oldest beyond this are deleted).", "snapshots"),
        _int("fleet.critical_disk_percent", 90, 50, 100,
             "A filesystem this full or fuller is a critical disk on the fleet dashboard.", "%"),
        _int("fleet.feed_stale_hours", 48, 1, 720,
             "A scanner whose vulnerability feed is this old is flagged on the dashboard and scanner page.", "hours"),
        _int("fleet.heartbeat_retention_days", 14, 1, 365,
             "Raw heartbeats older than this are deleted (the 5-minute rollups keep the long view).", "days"),
        _int("fleet.scanner_stats_retention_days", 14, 1, 365,
             "Scanner stats rows older than this are deleted (each scanner's newest row is always kept).", "days"),
        _int("alerts.resolved_retention_days", 180, 1, 3650,
             "Resolved alerts older than this are deleted.", "days"),
        _int("fleet.commands_keep_days", 90, 7, 3650,
             "Finished fleet commands (completed, failed, expired, canceled) older than this are deleted "
             "(their audit rows stay).", "days"),
        _int("wireless.wigle_soft_limit", 80, 1, 100000,
             "WiGLE lookups per organization in 24 hours after which only lookups a user asked "
             "for run (background enrichment waits).", "requests"),
        _int("wireless.wigle_hard_limit", 100, 1, 100000,
             "WiGLE lookups per organization in 24 hours after which no lookup runs.", "requests"),
        _int("wireless.geocode_cache_days", 90, 1, 3650,
             "How long a reverse-geocoding answer is reused before it is asked again.", "days"),
        SettingSpec("wireless.map_tile_url", "tile_url", OSM_TILE_URL,
                    "Map tile URL template for the wireless maps (default: OpenStreetMap's standard tiles, "
                    "loaded by each browser); empty switches online tiles off and draws the offline "
                    "country and state outlines."),
        SettingSpec("wireless.map_pmtiles_url", "pmtiles_url", "",
                    "Self-hosted PMTiles basemap for sites without internet (a path on this server such as "
                    "/static/basemap.pmtiles, or a URL); when set it replaces the online tiles."),
        _int("metrics.rating_very_low", 90, 2, 100,
             "Security score at or above which a function or the overall score is rated very low risk.",
             check=_rating_check("metrics.rating_very_low")),
        _int("metrics.rating_low", 75, 2, 100, "Security score at or above which the rating is low risk.",
             check=_rating_check("metrics.rating_low")),
        _int("metrics.rating_medium", 50, 1, 99, "Security score at or above which the rating is medium risk.",
             check=_rating_check("metrics.rating_medium")),
        _int("metrics.rating_high", 30, 1, 99,
             "Security score at or above which the rating is high risk (below it: very high risk).",
             check=_rating_check("metrics.rating_high")),
        SettingSpec("fleet.overlay_network", "ipv4_network", "100.64.0.0/16",
                    "The fleet's WireGuard overlay network; devices get an address inside it at enrolment "
                    "(addresses already given keep working; change it before enrolling, not after).",
                    check=_overlay_check("fleet.overlay_network")),
        _int("fleet.overlay_internal_first", 10, 1, 4_194_302,
             "First host number of the overlay network given to devices of internal organizations.",
             check=_overlay_check("fleet.overlay_internal_first")),
        _int("fleet.overlay_internal_last", 1023, 1, 4_194_302,
             "Last host number for internal organizations' devices.",
             check=_overlay_check("fleet.overlay_internal_last")),
        _int("fleet.overlay_customer_first", 1024, 1, 4_194_302,
             "First host number of the overlay network given to devices of customer organizations.",
             check=_overlay_check("fleet.overlay_customer_first")),
        _int("fleet.overlay_customer_last", 65534, 1, 4_194_302,
             "Last host number for customer organizations' devices.",
             check=_overlay_check("fleet.overlay_customer_last")),
        _int("fleet.unsubscribed_device_quota", 100, 0, 1_000_000,
             "Devices an organization without an active subscription may have (a subscription's "
             "own device limit applies otherwise).", "devices"),
        _int("wireless.media_max_mb", 25, 1, 60,
             "Largest photo, recording, video or document that may be attached to a network "
             "(VIGIL_MAX_UPLOAD_MB caps every request above this).", "MB"),
        _int("compliance.evidence_notice_days", 14, 1, 180,
             "Compliance evidence is listed as expiring, and notified once, this long before it lapses.", "days"),
    )
}


# Rows of the settings table that a domain keeps for itself (e.g. a sealed key pinned on
# first use): not editable, never shown by value, and not "unknown" to the admin page.
INTERNAL_KEYS: dict[str, str] = {}


def register_internal_key(key: str, description: str) -> None:
    """Declare a settings row a domain writes and reads itself."""
    INTERNAL_KEYS[key] = description


def spec_for(key: str) -> SettingSpec | None:
    return SETTINGS.get(key)


def get_setting(key: str) -> Any:
    """The stored value of a known setting, or its default (KeyError for an unknown key).

    A stored value that no longer fits the type (edited by hand, or the rule tightened)
    gives the default rather than an invalid value.
    """
    spec = SETTINGS[key]
    row = db.session.get(Setting, key)
    if row is None:
        return spec.default
    try:
        return spec.parse(row.value)
    except ValueError:
        return spec.default


def stored_rows() -> dict[str, Setting]:
    return {row.key: row for row in db.session.scalars(sa.select(Setting).order_by(Setting.key))}


def save_setting(spec: SettingSpec, value: Any, actor: Any) -> bool:
    """Store a validated value with who changed it, and audit it. False: it was already in effect."""
    old = get_setting(spec.key)
    if value == old:
        return False
    row = db.session.get(Setting, spec.key)
    if row is None:
        row = Setting(key=spec.key)
        db.session.add(row)
    row.value = value
    row.description = spec.description
    row.updated_at = utcnow()
    row.updated_by_id = actor.id
    row.updated_by = actor.email
    db.session.flush()
    audit.record("setting.updated", resource_type="setting", resource_id=spec.key,
                 old={"value": old}, new={"value": value})
    return True
