"""Demo exposure rows (registered in app.demo.DEMO_EXTENSIONS): a few people with breaches
and monitored addresses with findings, so the exposure page and report have something to
show. No credential of any kind is stored: breaches carry their data classes only."""

from __future__ import annotations

import uuid
from datetime import timedelta

from app.demo import DEMO_EXTENSIONS
from app.exposure.monitoring import dedupe_key
from app.models import (
    Breach,
    MonitoredEmail,
    MonitoredEmailFinding,
    Organization,
    Profile,
    db,
    utcnow,
)

PEOPLE = (("Dana Reyes", "dana", 72.5, ("LinkedIn 2021", "Canva 2019")), ("Sam Okafor", "sam", 31.0, ("Dropbox 2012",)))


def seed(orgs: dict[str, Organization]) -> None:
    now = utcnow()
    for org in orgs.values():
        domain = org.primary_domain or f"{org.slug}.example"
        for name, local, score, breaches in PEOPLE:
            person = Profile(id=str(uuid.uuid4()), org_id=org.id, name=name, email=f"{local}@{domain}",
                             risk_score=score, breach_count=len(breaches), exposed_passwords_count=1)
            db.session.add(person)
            db.session.flush()  # breaches name the person by id, without a relationship to order the inserts
            for i, breach in enumerate(breaches):
                db.session.add(Breach(org_id=org.id, profile_id=person.id, source="hibp" if i % 2 == 0 else "local",
                                      breach_name=breach, breach_date=breach[-4:], severity="high",
                                      data_classes=["Email addresses", "Passwords"],
                                      discovered_at=now - timedelta(days=3 + i)))
        address = f"security@{domain}"
        monitored = MonitoredEmail(org_id=org.id, email_address=address, monitor_scope="company",
                                   confirmed_at=now - timedelta(days=20), last_checked=now - timedelta(hours=5),
                                   findings_count=1)
        db.session.add(monitored)
        db.session.flush()
        db.session.add(MonitoredEmailFinding(org_id=org.id, monitored_email_id=monitored.id, finding_type="breach",
                                             source="xposedornot", breach_name="Canva 2019", severity="medium",
                                             dedupe_key=dedupe_key("xposedornot", "Canva 2019", address),
                                             found_at=now - timedelta(days=2)))


if seed not in DEMO_EXTENSIONS:
    DEMO_EXTENSIONS.append(seed)
