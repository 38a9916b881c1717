"""seed-demo fills the exposure and canary-token domains through their real services (the
attack surface brings its own scan, tested in tests/test_surface*.py): an imported synthetic
combolist with the organization's matched credentials, monitored addresses and a scored
profile; tokens of several kinds, two of them hit and attributed. All of it marked demo, and
no demo user's password is among the "leaked" ones (that would lock the demo logins)."""

from __future__ import annotations

import sqlalchemy as sa

from app.models import (
    BaitAccess,
    BaitToken,
    MonitoredEmail,
    Organization,
    Profile,
    UploadedBreachFile,
    User,
    db,
)


def test_seed_demo_fills_exposure_and_bait(app, db_session, client):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    org_id = db.session.scalar(sa.select(Organization.id).where(Organization.slug == "northwind"))

    [upload] = db.session.scalars(sa.select(UploadedBreachFile).where(UploadedBreachFile.org_id == org_id)).all()
    assert "synthetic" in upload.filename and upload.processing_status == "completed"
    assert upload.matched_count >= 3 and upload.rejected_count == 1
    monitored = db.session.scalars(sa.select(MonitoredEmail).where(MonitoredEmail.org_id == org_id)).all()
    assert len(monitored) == 2 and all(m.confirmed_at for m in monitored)
    [person] = db.session.scalars(sa.select(Profile).where(Profile.org_id == org_id)).all()
    assert "(demo)" in person.name and person.risk_score > 0

    tokens = db.session.scalars(sa.select(BaitToken).where(BaitToken.org_id == org_id)).all()
    assert len({t.bait_type for t in tokens}) >= 3 and all("(demo)" in t.name for t in tokens)
    assert {t.status for t in tokens} == {"active", "triggered"}
    accesses = db.session.scalars(sa.select(BaitAccess).where(BaitAccess.org_id == org_id)).all()
    assert {a.attribution_type for a in accesses} == {"tool", "human"}

    users = db.session.scalars(sa.select(User).where(User.email.like("%@northwind.example"))).all()
    assert users and not any(getattr(u, "must_change_password", False) for u in users)

    page = client.get("/auth/login")
    assert page.status_code == 200
