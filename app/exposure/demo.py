"""Demo exposure data (registered with app.core.demo_data), made through the real services:
a small synthetic combolist imported by the importer (so credentials, findings and the corpus
are real rows), two monitored addresses and one person's profile. Everything is marked demo;
no password here is any demo user's real password (that would force a password change)."""

from __future__ import annotations

import uuid

from app import audit
from app.core.demo_data import register_demo
from app.exposure import importer, monitoring, profiles, uploads
from app.models import Organization, Profile, db

DEMO_FILE = "demo-combolist (synthetic).txt"


def combolist(domain: str) -> bytes:
    """A synthetic combolist: a few of the organization's addresses among strangers', one
    password reused by two accounts, and a malformed line the importer rejects."""
    lines = [
        f"j.doe@{domain}:Summer2024!",
        f"finance@{domain};Summer2024!",
        f"it-support@{domain}|qwerty123",
        f"ceo@{domain} : Tr0ub4dor&3",
        "alice@example.net:letmein",
        "bob@example.org:hunter2",
        "carol.smith:Passw0rd",
        "dave@example.com",
        "not a credential line",
    ]
    return ("\n".join(lines) + "\n").encode()


def seed_exposure(orgs: dict[str, Organization]) -> None:
    for org in orgs.values():
        if not org.primary_domain:
            continue
        try:
            row = uploads.receive(org.id, None, DEMO_FILE, [combolist(org.primary_domain)])
        except uploads.AlreadyImported:
            continue
        db.session.commit()
        audit.record("exposure.upload_received", resource_type="uploaded_breach_file", resource_id=row.id,
                     org_id=org.id, actor_type="system", actor_label="seed-demo", new={"filename": DEMO_FILE})
        importer.run_import(row.id)
        for address, scope in ((f"security@{org.primary_domain}", "company"), (f"ceo@{org.primary_domain}", "admin")):
            monitoring.add(org.id, None, address, scope)
        person = Profile(id=str(uuid.uuid4()), org_id=org.id, name="Jordan Doe (demo)",
                         email=f"j.doe@{org.primary_domain}", username="jdoe-demo", company=org.name,
                         position="Finance manager",
                         notes="Demo profile from seed-demo.")
        db.session.add(person)
        db.session.flush()
        profiles.recompute(person)
        db.session.commit()


register_demo(seed_exposure)
