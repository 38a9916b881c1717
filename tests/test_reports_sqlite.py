"""The newer domains' reports (attack surface, compliance with its auditor pack, roadmap, exposure,
canary tokens) render on SQLite too (issue 17.4): a Vigil of its own on a temporary SQLite file,
its demo data built by seed-demo through the real services, each report's PDF read back with
pypdf for its headings (the same headings as the PostgreSQL run in test_reports_domains.py)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade
from pypdf import PdfReader

from app import create_app
from app.models import ComplianceAssessment, Organization, db
from app.reports import services
from app.reports.registry import REPORTS
from tests.test_reports_domains import HEADINGS


@pytest.fixture(scope="module")
def sqlite_demo(tmp_path_factory) -> Iterator[tuple[Flask, int]]:
    """A SQLite Vigil (embedded queue, no Redis) with the demo data; (app, first demo org id)."""
    folder = tmp_path_factory.mktemp("sqlite-reports")
    instance = folder / "instance"
    instance.mkdir()
    app = create_app({"VIGIL_ENV": "testing", "TESTING": True, "SECRET_KEY": "test-secret-key",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'vigil.db'}", "REDIS_URL": None,
                      "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 64, "SERVER_NAME": None})
    app.instance_path = str(instance)
    with app.app_context():
        assert db.engine.dialect.name == "sqlite"
        upgrade(revision="heads")
        from app.demo import seed_demo

        assert seed_demo() is True
        db.session.commit()
        org_id = db.session.scalar(sa.select(Organization.id).order_by(Organization.id).limit(1))
        yield app, org_id
        db.session.remove()
        db.engine.dispose()


def _pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) >= 1
    return "\n".join(page.extract_text() for page in reader.pages)


@pytest.mark.parametrize("kind", sorted(HEADINGS))
def test_each_new_report_renders_on_sqlite(sqlite_demo, kind):
    app, org_id = sqlite_demo
    with app.app_context():
        report = services.request_report(org_id, kind, user_id=None,
                                          params={"days": 90, "until": datetime.now(UTC).isoformat()})
        db.session.flush()
        services.generate(report.id)
        db.session.commit()
        assert report.status == "ready", report.error
        text = _pdf_text(services.open_file(report, services.PDF_NAME))
        org = db.session.get(Organization, org_id)
        assert REPORTS[kind].title in text and org.name in text
        for heading in HEADINGS[kind]:
            assert heading in text, f"{kind}: {heading!r} missing on SQLite"
        csvs = [name for name in report.files if name.endswith(".csv")]
        assert csvs and all(services.open_file(report, name) for name in csvs)


def test_compliance_auditor_pack_pdf_renders_on_sqlite(sqlite_demo):
    from app.compliance import pdf

    app, org_id = sqlite_demo
    with app.app_context():
        assessment = db.session.scalar(sa.select(ComplianceAssessment).where(
            ComplianceAssessment.org_id == org_id).order_by(ComplianceAssessment.id).limit(1))
        assert assessment is not None, "the demo data has no compliance assessment"
        path, data = pdf.auditor_pdf(assessment)
        text = _pdf_text(data)
        assert path.read_bytes() == data
        assert "auditor pack" in text and "Overall score" in text
        assert any(c.control_id in text for c in assessment.controls)
