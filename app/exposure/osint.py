"""A person's OSINT devices: the hosts the organization's attack-surface scans found under
the domain of the person's e-mail (issue 15: "osint_devices from the attack-surface scans").

Exposure reads the surface domain's public read seam (app.surface.assets.discovered_hosts);
the surface domain never reads exposure.
"""

from __future__ import annotations

import sqlalchemy as sa

from app.models import OsintDevice, Profile, db, utcnow
from app.surface.assets import discovered_hosts

DEVICE_TYPE = "attack_surface_host"


def profile_domain(profile: Profile) -> str | None:
    email = (profile.email or "").strip().lower()
    return email.rsplit("@", 1)[1] if "@" in email else None


def refresh_devices(profile: Profile) -> int:
    """Add or update one OSINT device per discovered host of the profile's domain; hosts the
    scans no longer report are switched off. Returns how many are active."""
    domain = profile_domain(profile)
    hosts = discovered_hosts(profile.org_id, domain) if domain else []
    stored = {d.hostname: d for d in db.session.scalars(sa.select(OsintDevice).where(
        OsintDevice.profile_id == profile.id, OsintDevice.device_type == DEVICE_TYPE))}
    now = utcnow()
    for host in hosts:
        row = stored.pop(host.hostname, None)
        if row is None:
            row = OsintDevice(org_id=profile.org_id, profile_id=profile.id, hostname=host.hostname[:255],
                              device_type=DEVICE_TYPE, discovered_at=now)
            db.session.add(row)
        row.ip_address = host.addresses[0] if host.addresses else None
        row.ports_open = list(host.ports)
        row.is_active, row.deleted_at = True, None
    for row in stored.values():
        row.is_active = False
    return len(hosts)


def devices_of(profile: Profile) -> list[OsintDevice]:
    return list(db.session.scalars(sa.select(OsintDevice).where(
        OsintDevice.profile_id == profile.id, OsintDevice.deleted_at.is_(None), OsintDevice.is_active.is_(True))
        .order_by(OsintDevice.hostname)))
