"""Every registered report renders from the demo data, and its PDF opens with the expected headings."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from app.models import Network, Organization, db
from app.reports import services
from app.reports.registry import REPORTS

HEADINGS = {
    "executive": ("Cybersecurity Framework 2.0 scores", "State of each domain", "Top risks",
                  "Alerts opened and closed", "Incidents"),
    "wireless": ("Highest-scoring networks", "Sightings timeline", "Map of sightings"),
    "fleet": ("Availability per device", "Backups and restore tests", "Scanner findings"),
    "threats": ("Incidents", "Indicator sightings", "Blocked addresses", "Riskiest users"),
    "metrics_scorecard": ("Score trend", "Functions and categories", "Metrics"),
}


@pytest.fixture()
def demo(app, db_session, monkeypatch, tmp_path):
    from app.demo import seed_demo

    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    assert seed_demo() is True
    db.session.commit()
    return db.session.scalar(sa.select(Organization).order_by(Organization.id).limit(1))


def _render(org_id: int, kind: str, **params) -> tuple[str, dict]:
    report = services.request_report(org_id, kind, user_id=None,
                                      params={"days": 90, "until": datetime.now(UTC).isoformat(), **params})
    db.session.flush()
    services.generate(report.id)
    reader = PdfReader(io.BytesIO(services.open_file(report, services.PDF_NAME)))
    assert len(reader.pages) >= 1
    return "\n".join(page.extract_text() for page in reader.pages), report.files


def test_every_report_renders_from_demo_data(demo):
    assert set(HEADINGS) <= set(REPORTS), "a report lost its registration"
    for kind, rtype in REPORTS.items():
        text, files = _render(demo.id, kind)
        assert rtype.title in text and demo.name in text, kind
        for heading in HEADINGS.get(kind, ()):
            assert heading in text, f"{kind}: {heading!r} missing"
        assert all(len(meta["sha256"]) == 64 for meta in files.values())


def test_wireless_report_for_one_network_lists_every_factor(demo):
    network = db.session.scalar(sa.select(Network).where(Network.org_id == demo.id, Network.threat_factors.is_not(None))
                                .order_by(Network.threat_score_v2.desc()).limit(1))
    if network is None:
        pytest.skip("the demo data has no scored network")
    text, files = _render(demo.id, "wireless", subject=network.bssid.lower())
    assert network.bssid in text and "Score factors" in text and "Map of sightings" in text
    factors = [f["code"] for f in network.threat_factors.get("factors", []) if f.get("code") != "tag_overlay"]
    assert factors and all(code in text.replace("\n", "") for code in factors)
    assert "factors.csv" in files
