"""Global reference data: agency offices (a CSV, validated line by line) and radio
manufacturers (the IEEE OUI registry as shipped by the pinned `netaddr` package).

Both tables are global (not per organization) and both loaders are idempotent: offices
upsert on (name, office_type), manufacturers on the OUI prefix. Nothing is half-saved: an
office file with one bad line saves nothing, and the caller commits.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from app.models import db, utcnow
from app.models.wireless import AgencyOffice, RadioManufacturer
from app.wireless.geo import haversine_m, valid_point

DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "wireless"
FBI_OFFICES = DATA_DIR / "fbi-field-offices.csv"
OFFICE_COLUMNS = ("office_type", "name", "parent_office", "address", "city", "state", "postal_code",
                  "phone", "latitude", "longitude")
REQUIRED = ("office_type", "name", "address", "city", "state", "latitude", "longitude")
OFFICE_TYPE = re.compile(r"^[a-z][a-z_]{1,29}$")
MAX_OFFICE_LINES = 5000
BULK = 5000


@dataclass
class OfficeParse:
    """Rows that validated, and (line, reason) for each that did not."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)


def _phone(raw: str) -> str:
    """Digits only, US style "(303) 629-7171" -> "303-629-7171"; other lengths kept as digits."""
    digits = re.sub(r"\D", "", raw)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}" if len(digits) == 10 else digits[:20]


def parse_offices(text: str) -> OfficeParse:
    """Validate an agency-office CSV (the columns of data/wireless/fbi-field-offices.csv)."""
    out = OfficeParse()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        out.errors.append((1, "missing column(s): " + ", ".join(missing)))
        return out
    reader.fieldnames = header
    seen: dict[tuple[str, str], int] = {}
    for row in reader:
        line = reader.line_num
        if line > MAX_OFFICE_LINES + 1:
            out.errors.append((line, f"more than {MAX_OFFICE_LINES} lines; split the file"))
            break
        values = {k: (v or "").strip() for k, v in row.items() if k}
        if not any(values.values()):
            continue
        problems = [f"{c} is empty" for c in REQUIRED if not values.get(c)]
        try:
            lat, lon = float(values.get("latitude") or "x"), float(values.get("longitude") or "x")
        except ValueError:
            lat = lon = None
            problems.append("latitude/longitude must be numbers")
        if lat is not None and not valid_point(lat, lon):
            problems.append("latitude/longitude out of range")
        if values.get("office_type") and not OFFICE_TYPE.match(values["office_type"]):
            problems.append("office_type must be lower-case letters and _ (e.g. field_office)")
        if values.get("state") and not re.fullmatch(r"[A-Za-z]{2}", values["state"]):
            problems.append("state must be a two-letter code")
        for name, limit in (("name", 200), ("address", 300), ("city", 100), ("postal_code", 20),
                            ("website", 300), ("parent_office", 200)):
            if len(values.get(name) or "") > limit:
                problems.append(f"{name} is longer than {limit} characters")
        key = (values.get("name", ""), values.get("office_type", ""))
        if key in seen:
            problems.append(f"same name and office_type as line {seen[key]}")
        if problems:
            out.errors.append((line, "; ".join(problems)))
            continue
        seen[key] = line
        precision, origin = values.get("coord_precision"), values.get("coord_source")
        out.rows.append({
            "name": values["name"], "office_type": values["office_type"], "lat": lat, "lon": lon,
            "address": values["address"], "city": values["city"], "state": values["state"].upper(),
            "postal_code": values.get("postal_code", ""), "phone": _phone(values.get("phone", "")),
            "phone_original": values.get("phone") or None, "website": values.get("website") or None,
            "parent_office": values.get("parent_office") or None,
            "source": "; ".join(p for p in (precision, origin) if p)[:300] or None,
        })
    return out


def save_offices(rows: list[dict[str, Any]]) -> tuple[int, int]:
    """Upsert validated office rows on (name, office_type): (added, updated). No commit."""
    existing = {(o.name, o.office_type): o for o in db.session.scalars(sa.select(AgencyOffice))}
    added = updated = 0
    for row in rows:
        office = existing.get((row["name"], row["office_type"]))
        if office is None:
            db.session.add(AgencyOffice(**row))
            added += 1
        elif any(getattr(office, k) != v for k, v in row.items()):
            for k, v in row.items():
                setattr(office, k, v)
            updated += 1
    db.session.flush()
    return added, updated


def load_offices_file(path: Path | str = FBI_OFFICES) -> tuple[OfficeParse, int, int]:
    """Parse and (only when every line is valid) save an office file: (parse, added, updated)."""
    parsed = parse_offices(Path(path).read_text(encoding="utf-8"))
    if parsed.errors:
        return parsed, 0, 0
    added, updated = save_offices(parsed.rows)
    return parsed, added, updated


def nearest_office(lat: float, lon: float) -> tuple[AgencyOffice, float] | None:
    """The agency office nearest to a point and its distance in metres (None without offices)."""
    best: tuple[AgencyOffice, float] | None = None
    for office in db.session.scalars(sa.select(AgencyOffice)):
        d = haversine_m(lat, lon, office.lat, office.lon)
        if best is None or d < best[1]:
            best = (office, d)
    return best


# ---------------------------------------------------------------- manufacturers (IEEE OUI)


def registry_entries() -> dict[str, str]:
    """prefix -> organization from netaddr's copy of the IEEE registry: MA-L (6 hex digits,
    oui.txt) and the old IAB blocks (9 hex digits, iab.txt). The first entry of a
    duplicated prefix wins, as in the registry's own order."""
    out: dict[str, str] = {}
    base = resources.files("netaddr.eui")
    for name in ("oui.txt", "iab.txt"):
        last_hex = ""
        with base.joinpath(name).open("r", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if "(hex)" in line:
                    last_hex = line.split("(hex)")[0].strip().replace("-", "")
                elif "(base 16)" in line:
                    left, _, org = line.partition("(base 16)")
                    left = left.strip()
                    prefix = left if name == "oui.txt" else last_hex + left.split("-")[0][:3]
                    org = org.strip()[:200] or "(unnamed)"
                    if re.fullmatch(r"[0-9A-F]{6}|[0-9A-F]{9}", prefix):
                        out.setdefault(prefix, org)
    return out


def load_manufacturers() -> tuple[int, int, int]:
    """Fill radio_manufacturers from the registry with bulk statements: (added, updated, total).

    Idempotent: a second run adds nothing and updates only names the registry changed.
    """
    entries = registry_entries()
    stored = dict(db.session.execute(sa.select(RadioManufacturer.oui_prefix, RadioManufacturer.manufacturer)).all())
    now = utcnow()
    new = [{"oui_prefix": p, "manufacturer": m, "updated_at": now} for p, m in entries.items() if p not in stored]
    changed = [(p, m) for p, m in entries.items() if p in stored and stored[p] != m]
    for start in range(0, len(new), BULK):
        db.session.execute(sa.insert(RadioManufacturer), new[start:start + BULK])
    for prefix, maker in changed:
        db.session.execute(sa.update(RadioManufacturer).where(RadioManufacturer.oui_prefix == prefix)
                           .values(manufacturer=maker, updated_at=now))
    return len(new), len(changed), len(entries)


def mac_hex(bssid: str) -> str | None:
    """The 12 hex digits of a MAC address, or None when the id is not a MAC (cell ids)."""
    digits = re.sub(r"[:\-.]", "", bssid or "").upper()
    return digits if re.fullmatch(r"[0-9A-F]{12}", digits) else None


def is_locally_administered(bssid: str) -> bool:
    """The "locally administered" bit (0x02 of the first octet): set on randomized MACs."""
    digits = mac_hex(bssid)
    return bool(digits) and bool(int(digits[:2], 16) & 0x02)


def manufacturer_for(bssid: str) -> RadioManufacturer | None:
    """The registry entry for a MAC's prefix (the 9-digit IAB block first, then MA-L)."""
    digits = mac_hex(bssid)
    if digits is None or is_locally_administered(bssid):
        return None
    rows = db.session.scalars(sa.select(RadioManufacturer).where(
        RadioManufacturer.oui_prefix.in_((digits[:9], digits[:6])))).all()
    return max(rows, key=lambda r: len(r.oui_prefix), default=None)
