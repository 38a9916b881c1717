"""Metrics as a CISO meets them (issue 6 acceptance): impossible values, rating colours,
and a dashboard that never shows a function score its metrics no longer give."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.models import Metric, MetricHistory, db
from tests.conftest import run_jobs
from tests.test_metrics import cat, count, fn, payload


@pytest.mark.parametrize("value, confirm, message", [
    ("NaN", "", "Enter a number."),
    ("Infinity", "y", "Enter a number."),
    ("-Infinity", "", "Enter a number."),
    ("1e12", "y", "too large"),  # over what the value column holds (Numeric(15, 4))
])
def test_value_entry_refuses_non_numbers_and_huge_values(client, orgs, csf, value, confirm, message):
    client.login(orgs.a.users["analyst"].email)
    client.post("/metrics/new", data=payload(unit="incidents", current_value="5", target_value="10"))
    metric = db.session.scalar(sa.select(Metric))
    response = client.post(f"/metrics/{metric.id}/value", data={"value": value, "note": "", "confirm_large": confirm})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert count(MetricHistory) == 1  # the initial value only
    db.session.refresh(metric)
    assert metric.current_value == 5


@pytest.mark.parametrize("field", ["current_value", "target_value", "weight"])
def test_metric_form_refuses_nan_in_every_number(client, orgs, csf, field):
    client.login(orgs.a.users["analyst"].email)
    response = client.post("/metrics/new", data=payload(**{field: "NaN"}))
    assert response.status_code == 422 and "Enter a number." in response.get_data(as_text=True)
    assert count(Metric) == 0


def test_metric_form_refuses_a_target_too_large_to_store(client, orgs, csf):
    client.login(orgs.a.users["analyst"].email)
    response = client.post("/metrics/new", data=payload(target_value="5e11", current_value=""))
    assert response.status_code == 422 and "too large" in response.get_data(as_text=True)
    assert count(Metric) == 0


def test_dashboard_and_drill_down_show_ratings_in_their_colours(app, client, orgs, csf):
    client.login(orgs.a.users["analyst"].email)
    client.post("/metrics/new", data=payload(current_value="95"))  # PR 95: very low risk
    client.post("/metrics/new", data=payload(function_id=str(fn("DE").id), category_id=str(cat("DE.CM").id),
                                             direction="lower_is_better", current_value="10", target_value="4",
                                             unit="hours", name="Mean time to detect"))  # DE 40: high risk
    run_jobs(app)
    page = client.get("/metrics/").get_data(as_text=True)
    assert "css/metrics.css" in page
    assert re.search(r'class="badge rating rating-very-low-risk" data-rating="very low risk"', page)
    assert re.search(r'class="badge rating rating-high-risk" data-rating="high risk"', page)
    assert "rating-edge-high-risk" in page and "rating-edge-medium-risk" in page  # DE card; overall 67.5
    assert "1 of 1 metric(s) scored, 1 below target" in page
    drill = client.get("/metrics/functions/DE").get_data(as_text=True)
    assert drill.count('data-rating="high risk"') == 2  # the function and its category DE.CM
    assert "<th>Target</th>" in drill and "4.0 hours" in drill


def test_dashboard_forgets_a_function_whose_last_metric_was_deleted(app, client, orgs, csf):
    client.login(orgs.a.users["analyst"].email)
    client.post("/metrics/new", data=payload(current_value="90"))
    client.post("/metrics/new", data=payload(function_id=str(fn("DE").id), category_id=str(cat("DE.CM").id),
                                             direction="lower_is_better", current_value="8", target_value="4",
                                             unit="hours", name="Mean time to detect"))
    run_jobs(app)
    assert 'data-function="DE">50.0<' in client.get("/metrics/").get_data(as_text=True)
    detect = db.session.scalar(sa.select(Metric).where(Metric.name == "Mean time to detect"))
    assert client.post(f"/metrics/{detect.id}/delete").status_code == 303
    run_jobs(app)
    page = client.get("/metrics/").get_data(as_text=True)
    assert 'data-function="DE">no metrics scored<' in page and 'data-function="PR">90.0<' in page
    assert re.search(r"data-overall-score>90\.0<", page)  # the mean of PR alone, as the snapshot says


def test_a_range_metric_without_a_target_value_asks_to_confirm_over_ten_times_its_upper_bound(client, orgs, csf):
    client.login(orgs.a.users["analyst"].email)
    client.post("/metrics/new", data=payload(name="Alerts per analyst per day", direction="target_range",
                                             target_value="", target_lower="20", target_upper="60", unit="alerts",
                                             current_value="45", function_id=str(fn("DE").id),
                                             category_id=str(cat("DE.AE").id)))
    metric = db.session.scalar(sa.select(Metric))
    response = client.post(f"/metrics/{metric.id}/value", data={"value": "6000", "note": ""})
    assert response.status_code == 422 and "more than 10 times the target" in response.get_data(as_text=True)
    page = client.post(f"/metrics/{metric.id}/value", data={"value": "6000", "confirm_large": "y"})
    assert page.status_code == 303
    db.session.refresh(metric)
    assert metric.current_value == 6000
    detail = client.get(f"/metrics/{metric.id}").get_data(as_text=True)
    assert "5940 alerts" in detail  # the gap, in the metric's unit


def test_common_spellings_of_the_name_column_are_guessed():
    from app.metrics.catalog_files import guess_columns

    assert guess_columns(["Metric Title", "Better", "Goal"]) == {"name": "Metric Title", "direction": "Better",
                                                                 "target": "Goal"}
    assert guess_columns(["KPI", "Direction"])["name"] == "KPI"


def test_scorecard_csv_for_the_board_pack_has_every_level_and_only_this_org(client, orgs, csf):
    import csv
    import io

    client.login(orgs.b.users["analyst"].email)
    client.post("/metrics/new", data=payload(name="Globex secret metric"))
    client.post("/auth/logout")
    client.login(orgs.a.users["analyst"].email)
    client.post("/metrics/new", data=payload(name="=HYPERLINK(1)", current_value="80"))  # PR 80
    client.post("/metrics/new", data=payload(function_id=str(fn("DE").id), category_id=str(cat("DE.CM").id),
                                             direction="lower_is_better", current_value="8", target_value="4",
                                             unit="hours", name="Mean time to detect", priority="Low"))  # DE 50
    client.post("/auth/logout")
    client.login(orgs.a.users["read_only"].email)
    assert "Download scorecard (CSV)" in client.get("/metrics/").get_data(as_text=True)
    response = client.get("/metrics/scorecard.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    body = response.get_data(as_text=True)
    assert "Globex secret metric" not in body
    rows = list(csv.DictReader(io.StringIO(body)))
    by = {(r["level"], r["code"]): r for r in rows}
    assert by[("overall", "NIST CSF 2.0")]["score"] == "65.0" and by[("overall", "NIST CSF 2.0")]["rating"] == "medium risk"
    assert by[("function", "PR")]["score"] == "80.0" and by[("function", "PR")]["rating"] == "low risk"
    assert by[("function", "DE")]["score"] == "50.0" and by[("category", "DE.CM")]["below_target"] == "1"
    assert by[("function", "RC")]["score"] == "" and by[("function", "RC")]["scored_metrics"] == "0"
    assert len([r for r in rows if r["level"] == "function"]) == 6
    assert len([r for r in rows if r["level"] == "category"]) == 22
    detect = by[("metric", "DE-001")]
    assert (detect["score"], detect["gap"], detect["unit"], detect["below_target"], detect["weight"]) == \
        ("50.0", "4", "hours", "yes", "0.3")
    assert by[("metric", "PR-001")]["name"] == "'=HYPERLINK(1)"  # a formula stays text in a spreadsheet


def test_dashboard_scores_refresh_themselves_while_a_recompute_is_pending(app, client, orgs, csf):
    client.login(orgs.a.users["analyst"].email)
    client.post("/metrics/new", data=payload(current_value="70"))
    page = client.get("/metrics/").get_data(as_text=True)
    assert "data-pending" in page and 'hx-trigger="every 2s"' in page and "No snapshot yet" in page
    run_jobs(app)
    fragment = client.get("/metrics/", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="metric-scores"') and "<html" not in fragment
    assert "data-pending" not in fragment and re.search(r"data-overall-score>70\.0<", fragment)



def test_metric_list_shows_each_target_with_its_direction(client, orgs, csf):
    client.login(orgs.a.users["analyst"].email)
    client.post("/metrics/new", data=payload(current_value="80"))
    client.post("/metrics/new", data=payload(name="Alerts per analyst", direction="target_range", target_value="",
                                             target_lower="20", target_upper="60", unit="alerts"))
    page = client.get("/metrics/list").get_data(as_text=True)
    assert "<th>Target</th>" in page
    assert re.search(r"data-target[^>]*>≥ 100\.0 %</td>", page) and re.search(r"data-target[^>]*>20\.0–60\.0 alerts</td>", page)


def test_metric_page_names_the_catalog_it_came_from(client, orgs, csf):
    from app.metrics.catalogs import create_default_catalog

    client.login(orgs.a.users["analyst"].email)
    client.post("/metrics/new", data=payload())
    metric = db.session.scalar(sa.select(Metric))
    assert "— (created here)" in client.get(f"/metrics/{metric.id}").get_data(as_text=True)
    catalog = create_default_catalog(orgs.a.org.id, None)
    metric.catalog_id = catalog.id
    db.session.commit()
    page = client.get(f"/metrics/{metric.id}").get_data(as_text=True)
    assert f'href="/metrics/catalogs/{catalog.id}">{catalog.name}</a>' in page


def test_activation_says_when_a_hand_entered_metric_could_be_live(client, orgs, csf):
    from app.metrics.catalogs import create_default_catalog

    client.login(orgs.a.users["analyst"].email)
    client.post("/metrics/new", data=payload(name="MFA coverage of active users", current_value="92"))
    catalog = create_default_catalog(orgs.a.org.id, None)
    db.session.commit()
    page = client.post(f"/metrics/catalogs/{catalog.id}/activate", follow_redirects=True).get_data(as_text=True)
    assert "1 existing metric(s) kept their hand-entered values" in page
    mfa = db.session.scalar(sa.select(Metric).where(Metric.name == "MFA coverage of active users"))
    assert mfa.live_source is None and mfa.current_value == 92  # kept, as the catalog rules say
