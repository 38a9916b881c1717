"""Rating floors as settings: validated in descending order, used by the scorer and the method page."""

from __future__ import annotations

import sqlalchemy as sa

from app.core.settings_registry import RATING_DEFAULTS, rating_thresholds
from app.metrics import services
from app.models import AuditLog, Setting, db


def test_rating_floors_are_settings_used_by_scores_and_the_method_page(client, orgs):
    from tests.test_metrics import payload

    services.load_framework()
    db.session.commit()
    assert rating_thresholds() == RATING_DEFAULTS
    client.login(orgs.super_admin.email)
    page = client.get("/admin/settings").get_data(as_text=True)
    assert "metrics.rating_very_low" in page and "metrics.rating_high" in page

    # Out of order is refused with a message, and nothing is stored.
    response = client.post("/admin/settings/metrics.rating_low", data={"value": "95"})
    assert response.status_code == 422
    assert "descending order" in response.get_data(as_text=True)
    assert db.session.get(Setting, "metrics.rating_low") is None

    assert client.post("/admin/settings/metrics.rating_very_low", data={"value": "97"}).status_code == 303
    assert client.post("/admin/settings/metrics.rating_low", data={"value": "85"}).status_code == 303
    assert rating_thresholds() == (97, 85, 50, 30)
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.resource_id == "metrics.rating_low"))
    client.post("/auth/logout")

    client.login(orgs.a.users["analyst"].email)
    client.post("/metrics/new", data=payload(current_value="80"))  # 80 of 100: low risk by default
    drill = client.get("/metrics/functions/PR").get_data(as_text=True)
    assert '80.0</span> <span class="badge rating rating-medium-risk" data-rating="medium risk">' in drill  # under the new floor of 85
    method = client.get("/metrics/method").get_data(as_text=True)
    assert "<td>97 or more</td><td>very low risk</td>" in method and "<td>85 or more</td>" in method
    card = services.scorecard(orgs.a.org.id)
    assert card.overall_rating == "medium risk"


def test_stored_floors_out_of_order_fall_back_to_the_defaults(db_session):
    db.session.add(Setting(key="metrics.rating_medium", value=80))  # above the low floor of 75
    db.session.commit()
    assert rating_thresholds() == RATING_DEFAULTS
