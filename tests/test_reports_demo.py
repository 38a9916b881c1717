"""seed-demo gives a newcomer something to open on the Reports page: this month's executive
report per demo organization (rendered by the worker, with the demo's data in it) and a
monthly schedule."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.models import Organization, Report, ReportSchedule, db, utcnow
from app.reports import services
from tests.conftest import run_jobs


@pytest.fixture()
def instance(app, monkeypatch, tmp_path):
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    return tmp_path


def test_seed_demo_brings_a_ready_report_with_data_and_a_schedule(app, db_session, client, instance):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    run_jobs(app)
    org_id = db.session.scalar(sa.select(Organization.id).where(Organization.slug == "northwind"))
    [report] = db.session.scalars(sa.select(Report).where(Report.org_id == org_id)).all()
    assert report.kind == "executive" and report.status == "ready"
    assert report.params["month"] == f"{utcnow():%Y-%m}"  # the month the demo rows are in
    assert services.open_file(report, services.PDF_NAME).startswith(b"%PDF")
    [schedule] = db.session.scalars(sa.select(ReportSchedule).where(ReportSchedule.org_id == org_id)).all()
    assert schedule.recipients == ["ciso@northwind.example"] and schedule.next_run_at > utcnow()
