"""Metric catalogs: the default catalog, the import wizard (CSV, JSON, XLSX), mapping
suggestions and review, activation into metrics, clone, export, permissions and isolation."""

from __future__ import annotations

import csv
import io
import json

import pytest
import sqlalchemy as sa

from app.metrics import catalog_files, catalogs, services
from app.metrics.mapping import TfidfMatcher
from app.models import (
    AiChangeLog,
    AuditLog,
    Metric,
    MetricCatalog,
    MetricCatalogFrameworkMapping,
    MetricCatalogImport,
    MetricCatalogItem,
    db,
)
from tests.tenancy import assert_other_org_cannot_reach


@pytest.fixture()
def matcher(csf) -> TfidfMatcher:
    return TfidfMatcher(catalogs.subcategory_texts(csf))


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


CSV_GOOD = (
    "Metric,Direction,Target,Unit,Function,Category,Notes\n"
    "Phishing simulation click rate,lower,5,%,,,Share of staff who clicked\n"
    "Mean time to detect,lower_is_better,4,hours,DE,,Hours from compromise to detection\n"
    "Backup restore test passed,binary,1,,RC,RC.RP,\n"
)


def upload(client, name: str, content: bytes):
    return client.post("/metrics/catalogs/import", data={"file": (io.BytesIO(content), name)},
                       content_type="multipart/form-data")


def map_columns(client, staged_id: int, **extra):
    data = {"catalog_name": "Imported", "col_name": "Metric", "col_direction": "Direction", "col_target": "Target",
            "col_unit": "Unit", "col_function": "Function", "col_category": "Category", "col_description": "Notes"}
    data.update(extra)
    return client.post(f"/metrics/catalogs/import/{staged_id}", data=data)


# The default catalog ---------------------------------------------------------------------

def test_default_catalog_has_60_metrics_valid_against_the_framework(csf):
    data, items = catalogs.default_catalog_items()
    assert len(items) >= 60
    functions = {i["function_code"] for i in items}
    assert functions == {"GV", "ID", "PR", "DE", "RS", "RC"}
    category_of = catalogs.category_functions(csf)
    names = [i["name"] for i in items]
    assert len(set(names)) == len(names)
    for item in items:
        assert category_of[item["category_code"]] == item["function_code"], item["name"]
        assert item["direction"] in ("higher_is_better", "lower_is_better", "target_range", "binary")
        assert item["priority"] in ("High", "Medium", "Low")
        if item["direction"] == "target_range":
            assert item["target_lower"] < item["target_upper"]
        else:
            assert item["target_value"] is not None, item["name"]
        if item["unit"] == "%":
            assert 0 <= item["target_value"] <= 100
    from app.metrics.live import LIVE_QUERIES

    assert {i["live_source"] for i in items if i["live_source"]} <= set(LIVE_QUERIES)


def test_default_catalog_route_creates_items_with_suggestions_and_logs_them(client, orgs, csf):
    client.login(orgs.a.users["analyst"].email)
    response = client.post("/metrics/catalogs/default")
    assert response.status_code == 303
    catalog = db.session.scalar(sa.select(MetricCatalog))
    assert catalog.is_default and catalog.org_id == orgs.a.org.id and len(catalog.items) >= 60
    assert catalog.owner_id == orgs.a.users["analyst"].id
    suggestions = count(MetricCatalogFrameworkMapping)
    assert suggestions >= len(catalog.items)  # every item got at least one suggestion
    logs = db.session.scalars(sa.select(AiChangeLog).where(AiChangeLog.action == "mapping.suggested")).all()
    assert len(logs) == len(catalog.items)
    assert {(r.source, r.mode, r.ai_provider, r.ai_model) for r in logs} == {
        ("catalog_import", "offline", "offline-tfidf", "tfidf-cosine-v1")}
    assert logs[0].user_id == orgs.a.users["analyst"].id and logs[0].prompt and logs[0].result["suggestions"]
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "metric_catalog.created"))
    assert "Phishing simulation click rate" in client.get(f"/metrics/catalogs/{catalog.id}").get_data(as_text=True)


# Mapping suggestions ---------------------------------------------------------------------

@pytest.mark.parametrize(("text", "function", "category"), [
    ("Phishing simulation click rate", "PR", "PR.AT"),
    ("Security awareness training completion", "PR", "PR.AT"),
    ("Mean time to detect", "DE", None),
    ("Backup restore test passed", None, None),
    ("Board cybersecurity briefings per year", "GV", "GV.OV"),
    ("Security policies reviewed", "GV", "GV.PO"),
    ("Privileged accounts with MFA", "PR", "PR.AA"),
    ("Mean time to resolve incidents", "RS", "RS.MA"),
    ("Hardware assets in the inventory with an owner", "ID", "ID.AM"),
])
def test_worked_examples_of_offline_suggestions(matcher, text, function, category):
    top = matcher.suggest(text)
    assert top, text
    best = top[0]
    if function:
        assert best.function_code == function, (text, top)
    if category:
        assert best.category_code == category, (text, top)
    if text.startswith("Backup restore"):
        assert best.code in ("RC.RP-03", "PR.DS-11"), top
    assert all(0 < s.confidence <= 1 for s in top)
    assert [s.confidence for s in top] == sorted((s.confidence for s in top), reverse=True)
    assert matcher.suggest(text) == top  # deterministic


def test_function_hint_and_nonsense(matcher):
    hinted = matcher.suggest("Mean time to detect", function_code="DE")
    assert all(s.function_code == "DE" for s in hinted)
    assert matcher.suggest("zzzz qqqq") == []


# The import wizard -----------------------------------------------------------------------

def test_csv_import_wizard_review_and_activate(client, orgs, csf):
    client.login(orgs.a.users["analyst"].email)
    response = upload(client, "board metrics.csv", CSV_GOOD.encode())
    assert response.status_code == 303
    staged = db.session.scalar(sa.select(MetricCatalogImport))
    assert staged.rows[0][0] == 2 and staged.headers[0] == "Metric" and staged.user_id == orgs.a.users["analyst"].id
    assert staged.column_map["name"] == "Metric" and staged.column_map["direction"] == "Direction"
    page = client.get(f"/metrics/catalogs/import/{staged.id}").get_data(as_text=True)
    assert "Phishing simulation click rate" in page and 'value="board metrics"' in page

    response = map_columns(client, staged.id)
    assert response.status_code == 303, response.get_data(as_text=True)
    catalog = db.session.scalar(sa.select(MetricCatalog))
    assert count(MetricCatalogImport) == 0  # the staged rows are gone once imported
    items = {i.name: i for i in catalog.items}
    assert items["Mean time to detect"].function_code == "DE" and items["Backup restore test passed"].category_code \
        == "RC.RP"
    assert items["Phishing simulation click rate"].function_code is None
    assert items["Phishing simulation click rate"].original_data["Notes"] == "Share of staff who clicked"

    # Activation refuses while an item has no function.
    refused = client.post(f"/metrics/catalogs/{catalog.id}/activate")
    assert refused.status_code == 422 and "Phishing simulation click rate" in refused.get_data(as_text=True)
    assert count(Metric) == 0

    review = client.get(f"/metrics/catalogs/{catalog.id}/review").get_data(as_text=True)
    phishing = items["Phishing simulation click rate"].mappings
    assert phishing[0].subcategory_code.startswith("PR.AT") and f'id="mapping-{phishing[0].id}"' in review
    fragment = client.post(f"/metrics/mappings/{phishing[0].id}/confirm", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and 'data-status="confirmed"' in body
    assert client.post(f"/metrics/mappings/{phishing[1].id}/reject").status_code == 303
    db.session.expire_all()
    item = db.session.get(MetricCatalogItem, items["Phishing simulation click rate"].id)
    assert item.function_code == "PR" and item.category_code == "PR.AT"  # from the confirmed subcategory
    assert [m.status for m in item.mappings][:2] == ["confirmed", "rejected"]
    decisions = set(db.session.scalars(sa.select(AiChangeLog.action).where(AiChangeLog.source == "review")))
    assert decisions == {"mapping.confirmed", "mapping.rejected"}

    assert client.post(f"/metrics/catalogs/{catalog.id}/activate").status_code == 303
    metrics = {m.name: m for m in db.session.scalars(sa.select(Metric))}
    assert set(metrics) == set(items)
    phish = metrics["Phishing simulation click rate"]
    assert phish.function.code == "PR" and phish.category.code == "PR.AT" and phish.catalog_id == catalog.id
    assert phish.direction == "lower_is_better" and float(phish.target_value) == 5 and phish.unit == "%"
    links = db.session.scalars(sa.select(MetricCatalogFrameworkMapping).where(
        MetricCatalogFrameworkMapping.metric_id == phish.id)).all()
    assert [(link.subcategory_code, link.status) for link in links] == [(phishing[0].subcategory_code, "confirmed")]
    assert phishing[0].subcategory_code in client.get(f"/metrics/{phish.id}").get_data(as_text=True)
    db.session.refresh(catalog)
    assert catalog.is_active
    activated = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "metric_catalog.activated"))
    assert activated.details["created"] == 3

    # Activating a clone updates the same metrics (matched by name) and moves "active" to it.
    assert client.post(f"/metrics/catalogs/{catalog.id}/clone").status_code == 303
    copy = db.session.scalar(sa.select(MetricCatalog).where(MetricCatalog.id != catalog.id))
    assert copy.name == "Copy of Imported" and len(copy.items) == 3 and not copy.is_active
    assert [m.status for m in copy.items[0].mappings] == [m.status for m in catalog.items[0].mappings]
    db.session.execute(sa.update(MetricCatalogItem).where(MetricCatalogItem.catalog_id == copy.id,
                                                          MetricCatalogItem.name == "Mean time to detect")
                       .values(target_value=2))
    db.session.commit()
    assert client.post(f"/metrics/catalogs/{copy.id}/activate").status_code == 303
    db.session.expire_all()
    assert count(Metric) == 3
    assert float(db.session.scalar(sa.select(Metric.target_value).where(Metric.name == "Mean time to detect"))) == 2
    assert db.session.scalars(sa.select(MetricCatalog.id).where(MetricCatalog.is_active.is_(True))).all() == [copy.id]


def test_bad_rows_are_listed_with_line_numbers_and_nothing_is_imported(client, orgs, csf):
    client.login(orgs.a.users["analyst"].email)
    content = (CSV_GOOD + ",lower,5,%,,,\nSideways metric,sideways,5,,,,\nNegative,higher,-3,,,,\n"
               "Wrong category,higher,5,,PR,DE.CM,\nUnknown,higher,5,,XX,,\nNo target,higher,,,,,\n"
               "mean time to DETECT,lower,4,hours,,,\n")
    upload(client, "bad.csv", content.encode())
    staged = db.session.scalar(sa.select(MetricCatalogImport))
    response = map_columns(client, staged.id)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'data-line="5">Line 5: Name is empty.' in page
    assert "Line 6: Direction &#39;sideways&#39; is not one of" in page
    assert "Line 7: Target cannot be negative." in page
    assert "Line 8: CSF category DE.CM belongs to DE, not PR." in page
    assert "Line 9: CSF function &#39;XX&#39; is not in the loaded framework." in page
    assert "Line 10: This direction needs a target value." in page
    assert "Line 11: Name repeats line 3." in page
    assert 'data-line="2"' not in page
    assert count(MetricCatalog) == 0 and count(MetricCatalogItem) == 0 and count(MetricCatalogFrameworkMapping) == 0
    assert count(AiChangeLog) == 0 and count(MetricCatalogImport) == 1  # still staged, to fix the mapping


def test_mapping_needs_name_and_direction(client, orgs, csf):
    client.login(orgs.a.users["analyst"].email)
    upload(client, "m.csv", CSV_GOOD.encode())
    staged = db.session.scalar(sa.select(MetricCatalogImport))
    response = map_columns(client, staged.id, col_direction="")
    assert response.status_code == 422 and "Choose the column that holds the direction" in response.get_data(
        as_text=True)
    response = map_columns(client, staged.id, col_unit="Metric")
    assert response.status_code == 422 and "chosen for two fields" in response.get_data(as_text=True)
    assert count(MetricCatalog) == 0


@pytest.mark.parametrize(("name", "content", "status", "message"), [
    ("x.txt", b"name\n", 422, "Upload a .csv, .json or .xlsx file."),
    ("x.csv", b"", 422, "The file is empty."),
    ("x.csv", b"name,direction\n", 422, "no rows"),
    ("x.json", b"{nope", 422, "The JSON file cannot be read"),
    ("x.json", b'{"metrics": 3}', 422, "must be a list of objects"),
    ("x.xlsx", b"not a zip file", 422, "The XLSX file cannot be read"),
    ("x.csv", b"\xff\xfe\x00bad", 422, "not UTF-8"),
    ("x.csv", b"a,a\n1,2\n", 422, "same header"),
])
def test_unreadable_files_answer_422_and_store_nothing(client, orgs, csf, name, content, status, message):
    client.login(orgs.a.users["analyst"].email)
    response = upload(client, name, content)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert count(MetricCatalogImport) == 0


def test_files_over_the_limit_answer_413(client, orgs, csf, monkeypatch):
    assert catalog_files.MAX_BYTES == 10 * 1024 * 1024
    # A smaller limit for the test: Werkzeug's test client spools a real 10 MB body to a
    # temporary file it never closes (a ResourceWarning). The check is the same code.
    monkeypatch.setattr(catalog_files, "MAX_BYTES", 1000)
    client.login(orgs.a.users["analyst"].email)
    response = upload(client, "big.csv", b"name,direction\n" + b"x" * 1000)
    assert response.status_code == 413 and "larger than 10 MB" in response.get_data(as_text=True)
    assert count(MetricCatalogImport) == 0
    assert upload(client, "ok.csv", b"name,direction\nA,higher\n").status_code == 303


def test_json_and_xlsx_imports(client, orgs, csf):
    from openpyxl import Workbook

    client.login(orgs.a.users["analyst"].email)
    data = {"metrics": [{"name": "MFA coverage", "direction": "higher_is_better", "target": 100, "unit": "%",
                         "category": "PR.AA"},
                        {"name": "Alerts per analyst", "direction": "target_range", "lower": 20, "upper": 60}]}
    assert upload(client, "c.json", json.dumps(data).encode()).status_code == 303
    staged = db.session.scalar(sa.select(MetricCatalogImport))
    assert staged.column_map == {"name": "name", "direction": "direction", "category": "category", "unit": "unit",
                                 "target": "target", "target_lower": "lower", "target_upper": "upper"}
    fields = {f"col_{k}": v for k, v in staged.column_map.items()}
    assert client.post(f"/metrics/catalogs/import/{staged.id}", data={"catalog_name": "J", **fields}).status_code \
        == 303
    catalog = db.session.scalar(sa.select(MetricCatalog).where(MetricCatalog.name == "J"))
    mfa, alerts = catalog.items
    assert (mfa.line_number, mfa.function_code, mfa.category_code) == (1, "PR", "PR.AA")
    assert (float(alerts.target_lower), float(alerts.target_upper)) == (20, 60)

    book = Workbook()
    sheet = book.active
    sheet.append(["Name", "Direction", "Target", "Priority"])
    sheet.append(["Endpoints patched", "higher", 95, "high"])
    sheet.append(["Open critical incidents", "lower", 0, "bogus"])
    buffer = io.BytesIO()
    book.save(buffer)
    assert upload(client, "c.xlsx", buffer.getvalue()).status_code == 303
    staged = db.session.scalar(sa.select(MetricCatalogImport))
    response = client.post(f"/metrics/catalogs/import/{staged.id}", data={
        "catalog_name": "X", "col_name": "Name", "col_direction": "Direction", "col_target": "Target",
        "col_priority": "Priority"})
    assert response.status_code == 422 and "Line 3: Priority &#39;bogus&#39;" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(MetricCatalog).where(MetricCatalog.name == "X")) is None


def test_export_round_trips_through_the_import(client, orgs, csf):
    client.login(orgs.a.users["analyst"].email)
    client.post("/metrics/catalogs/default")
    catalog = db.session.scalar(sa.select(MetricCatalog))
    response = client.get(f"/metrics/catalogs/{catalog.id}/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == len(catalog.items) and rows[0]["name"] == catalog.items[0].name
    assert upload(client, "again.csv", response.data).status_code == 303
    staged = db.session.scalar(sa.select(MetricCatalogImport))
    fields = {f"col_{k}": v for k, v in staged.column_map.items()}
    assert fields["col_target_lower"] == "target_lower" and fields["col_priority"] == "priority"
    assert client.post(f"/metrics/catalogs/import/{staged.id}", data={"catalog_name": "Again", **fields}) \
        .status_code == 303
    again = db.session.scalar(sa.select(MetricCatalog).where(MetricCatalog.name == "Again"))
    assert [(i.name, i.category_code, i.direction) for i in again.items] == \
        [(i.name, i.category_code, i.direction) for i in catalog.items]


def test_export_quotes_formula_cells():
    text = catalog_files.to_csv([{"name": "=HYPERLINK(1)", "target": None, "priority": "High"}])
    assert "'=HYPERLINK(1)" in text


def test_metric_level_suggestions_and_links(client, orgs, csf):
    from tests.test_metrics import payload

    client.login(orgs.a.users["analyst"].email)
    client.post("/metrics/new", data=payload(name="Phishing simulation click rate", category_id="",
                                             function_id=str(services.functions_of(csf)[3].id)))
    metric = db.session.scalar(sa.select(Metric))
    assert client.post(f"/metrics/{metric.id}/suggest").status_code == 303
    rows = catalogs.metric_links(metric)
    assert rows and all(r.status == "suggested" for r in rows)
    assert client.post(f"/metrics/mappings/{rows[0].id}/confirm").status_code == 303
    page = client.get(f"/metrics/{metric.id}").get_data(as_text=True)
    assert f'data-link="{rows[0].subcategory_code}" data-status="confirmed"' in page
    assert db.session.scalar(sa.select(AiChangeLog).where(AiChangeLog.source == "metric"))
    reference = client.get("/metrics/framework").get_data(as_text=True)
    assert f'id="sub-{rows[0].subcategory_code}"' in reference and 'data-linked="1"' in reference
    client.post("/auth/logout")
    client.login(orgs.b.users["analyst"].email)  # another organization's links are not counted
    assert "data-linked" not in client.get("/metrics/framework").get_data(as_text=True)


# Permissions and isolation ---------------------------------------------------------------

def test_read_only_can_read_catalogs_but_not_change_them(client, orgs, csf):
    client.login(orgs.a.users["analyst"].email)
    client.post("/metrics/catalogs/default")
    upload(client, "m.csv", CSV_GOOD.encode())
    catalog = db.session.scalar(sa.select(MetricCatalog))
    staged = db.session.scalar(sa.select(MetricCatalogImport))
    mapping = db.session.scalar(sa.select(MetricCatalogFrameworkMapping))
    client.post("/auth/logout")
    client.login(orgs.a.users["read_only"].email)
    for url in ["/metrics/catalogs", f"/metrics/catalogs/{catalog.id}", f"/metrics/catalogs/{catalog.id}/review",
                f"/metrics/catalogs/{catalog.id}/export.csv", "/metrics/ai-log"]:
        assert client.get(url).status_code == 200, url
    for method, url in [("POST", "/metrics/catalogs/default"), ("GET", "/metrics/catalogs/import"),
                        ("POST", "/metrics/catalogs/import"), ("GET", f"/metrics/catalogs/import/{staged.id}"),
                        ("POST", f"/metrics/catalogs/import/{staged.id}/cancel"),
                        ("POST", f"/metrics/catalogs/{catalog.id}/activate"),
                        ("POST", f"/metrics/catalogs/{catalog.id}/clone"),
                        ("POST", f"/metrics/catalogs/{catalog.id}/suggest"),
                        ("POST", f"/metrics/mappings/{mapping.id}/confirm"),
                        ("POST", f"/metrics/mappings/{mapping.id}/reject")]:
        assert client.open(url, method=method).status_code == 403, url


def test_other_org_cannot_reach_any_catalog_url(client, orgs, csf):
    client.login(orgs.b.users["analyst"].email)
    client.post("/metrics/catalogs/default")
    upload(client, "m.csv", CSV_GOOD.encode())
    from tests.test_metrics import payload

    client.post("/metrics/new", data=payload())
    catalog = db.session.scalar(sa.select(MetricCatalog))
    staged = db.session.scalar(sa.select(MetricCatalogImport))
    mapping = db.session.scalar(sa.select(MetricCatalogFrameworkMapping))
    metric = db.session.scalar(sa.select(Metric))
    client.post("/auth/logout")
    client.login(orgs.a.users["admin"].email)
    base = f"/metrics/catalogs/{catalog.id}"
    assert_other_org_cannot_reach(client, [
        ("GET", base), ("GET", f"{base}/review"), ("GET", f"{base}/export.csv"), ("POST", f"{base}/activate"),
        ("POST", f"{base}/clone"), ("POST", f"{base}/suggest"),
        ("GET", f"/metrics/catalogs/import/{staged.id}"), ("POST", f"/metrics/catalogs/import/{staged.id}"),
        ("POST", f"/metrics/catalogs/import/{staged.id}/cancel"),
        ("POST", f"/metrics/mappings/{mapping.id}/confirm"), ("POST", f"/metrics/mappings/{mapping.id}/reject"),
        ("POST", f"/metrics/{metric.id}/suggest"),
    ])
    assert catalog.name not in client.get("/metrics/catalogs").get_data(as_text=True)
    assert client.get("/metrics/ai-log").get_data(as_text=True).count("mapping.suggested") == 0
    db.session.refresh(catalog)
    db.session.refresh(mapping)
    assert not catalog.is_active and mapping.status == "suggested" and count(MetricCatalog) == 1


def test_another_users_staged_upload_is_not_theirs(client, orgs, csf):
    client.login(orgs.a.users["analyst"].email)
    upload(client, "m.csv", CSV_GOOD.encode())
    staged = db.session.scalar(sa.select(MetricCatalogImport))
    client.post("/auth/logout")
    client.login(orgs.a.users["admin"].email)
    assert client.get(f"/metrics/catalogs/import/{staged.id}").status_code == 404


def test_cli_adds_the_default_catalog(app, orgs, csf):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["metrics", "add-default-catalog", "--org", orgs.a.org.slug])
    assert result.exit_code == 0, result.output
    catalog = db.session.scalar(sa.select(MetricCatalog))
    assert catalog.org_id == orgs.a.org.id and catalog.owner_id is None and f"{len(catalog.items)} metrics" in \
        result.output
    assert runner.invoke(args=["metrics", "add-default-catalog", "--org", "nope"]).exit_code != 0


def test_check_rows_live_query_column():
    headers = ["name", "direction", "target", "live"]
    rows = [[2, ["MFA", "higher", "100", "mfa_coverage"]], [3, ["Made up", "higher", "1", "no_such_query"]]]
    checked = catalog_files.check_rows(headers, rows, catalog_files.guess_columns(headers), {"PR.AA": "PR"},
                                       frozenset({"mfa_coverage"}))
    assert [i["live_source"] for i in checked.items] == ["mfa_coverage"]
    assert [(p.line, p.reasons) for p in checked.problems] == [(3, ["Live query 'no_such_query' does not exist."])]


def test_activating_a_command_line_catalog_makes_it_the_users(client, orgs, csf):
    catalog = catalogs.create_default_catalog(orgs.a.org.id, None)
    db.session.commit()
    client.login(orgs.a.users["analyst"].email)
    assert client.post(f"/metrics/catalogs/{catalog.id}/activate").status_code == 303
    db.session.refresh(catalog)
    assert catalog.is_active and catalog.owner_id == orgs.a.users["analyst"].id
    metrics = db.session.scalars(sa.select(Metric).where(Metric.org_id == orgs.a.org.id)).all()
    assert len(metrics) == len(catalog.items)
    live = {m.name: m for m in metrics if m.live_source}
    assert live["MFA coverage of active users"].live_source == "mfa_coverage"
    assert live["MFA coverage of active users"].current_value is not None  # from the query, at once
    numbers = sorted(m.metric_number for m in metrics if m.function.code == "GV")
    assert numbers[0] == "GV-001" and len(set(numbers)) == len(numbers)
