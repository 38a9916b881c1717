"""Roadmap pages (issue 16): profile, board with inline status, task detail, achievements, CSV, live metrics."""

from __future__ import annotations

import sqlalchemy as sa

from app.metrics.live import LIVE_QUERIES
from app.models import RoadmapUserTask, db
from app.roadmap import services


def test_profile_board_status_and_exports(client, orgs):
    client.login(orgs.a.users["operator"].email)
    assert client.get("/roadmap/").status_code == 302  # no profile yet: to the profile form
    bad = client.post("/roadmap/profile", data={"company_name": "", "company_size": "small", "industry": "retail",
                                                "target_security_score": "75"})
    assert bad.status_code == 422
    r = client.post("/roadmap/profile", data={"company_name": "Org A", "company_size": "small", "industry": "retail",
                                              "target_security_score": "80", "handles_payment_data": "y"})
    assert r.status_code == 303
    board = client.get("/roadmap/")
    assert board.status_code == 200 and "This week" in board.text and "cardholder" in board.text
    row = db.session.scalar(sa.select(RoadmapUserTask).where(RoadmapUserTask.org_id == orgs.a.org.id,
                                                             RoadmapUserTask.task_id == "enable_mfa"))
    card = client.post(f"/roadmap/tasks/{row.id}/status", data={"status": "completed"}, headers={"HX-Request": "true"})
    assert card.status_code == 200 and f'id="task-{row.id}"' in card.text and "<html" not in card.text
    assert "roadmap-task-updated" in card.headers["HX-Trigger"]
    assert client.post(f"/roadmap/tasks/{row.id}/status", data={"status": "done"},
                       headers={"HX-Request": "true"}).status_code == 422
    assert services.profile_for(orgs.a.org.id).current_security_score == 10
    panel = client.get("/roadmap/score", headers={"HX-Request": "true"})
    assert "data-score>10<" in panel.text and "<html" not in panel.text
    assert client.get(f"/roadmap/tasks/{row.id}").status_code == 200
    ach = client.get("/roadmap/achievements")
    assert ach.status_code == 200 and 'data-achievement="first_steps" data-unlocked="yes"' in ach.text
    for path in ("/roadmap/tasks.csv", "/roadmap/achievements.csv", "/roadmap/progress.csv"):
        got = client.get(path)
        assert got.status_code == 200 and got.mimetype == "text/csv"
    assert "enable_mfa" in client.get("/roadmap/tasks.csv").text


def test_read_only_and_other_tenant(client, orgs):
    services.save_profile(orgs.a.org.id, {}, None)
    db.session.commit()
    row = db.session.scalar(sa.select(RoadmapUserTask).where(RoadmapUserTask.org_id == orgs.a.org.id).limit(1))
    client.login(orgs.a.users["read_only"].email)
    assert client.get("/roadmap/").status_code == 200
    assert client.post(f"/roadmap/tasks/{row.id}/status", data={"status": "completed"}).status_code == 403
    assert client.post("/roadmap/profile", data={"company_name": "x"}).status_code == 403
    client.post("/auth/logout")
    client.login(orgs.b.users["admin"].email)
    assert client.get(f"/roadmap/tasks/{row.id}").status_code == 404
    assert client.post(f"/roadmap/tasks/{row.id}/status", data={"status": "completed"}).status_code == 404


def test_live_metrics_registered(orgs):
    assert LIVE_QUERIES["roadmap_score"].func(orgs.a.org.id) is None
    profile = services.save_profile(orgs.a.org.id, {}, None)
    services.set_status(next(r for r, _ in services.tasks(profile) if r.task_id == "enable_mfa"), "completed")
    assert LIVE_QUERIES["roadmap_score"].func(orgs.a.org.id) == 10
    assert LIVE_QUERIES["roadmap_completed_pct"].func(orgs.a.org.id) > 0
    assert "compliance_score_soc2" in LIVE_QUERIES


def test_certificate_only_for_security_champions(client, orgs):
    profile = services.save_profile(orgs.a.org.id, {"compliance_requirements": ["SOC2", "ISO27001"]}, None)
    db.session.commit()
    client.login(orgs.a.users["read_only"].email)
    assert client.get("/roadmap/certificate.pdf").status_code == 404
    for row, _ in services.tasks(profile):
        services.set_status(row, "completed")
    db.session.commit()
    assert "security_champion" in services.unlocked(profile)
    got = client.get("/roadmap/certificate.pdf")
    assert got.status_code == 200 and got.data.startswith(b"%PDF-")


def test_global_search_finds_controls_and_tasks(client, orgs):
    from app.compliance import frameworks
    from app.compliance import services as compliance

    frameworks.load_frameworks()
    compliance.start_assessment(orgs.a.org.id, "ISO27001", None)
    services.save_profile(orgs.a.org.id, {}, None)
    db.session.commit()
    client.login(orgs.a.users["read_only"].email)
    html = client.get("/search/", query_string={"q": "backup"}).get_data(as_text=True)
    assert "A.8.13" in html and "Automate backups" in html
    client.post("/auth/logout")
    client.login(orgs.b.users["admin"].email)
    html = client.get("/search/", query_string={"q": "backup"}).get_data(as_text=True)
    assert "A.8.13" not in html and "Automate backups" not in html


def test_assign_a_task_and_keep_notes(client, orgs):
    profile = services.save_profile(orgs.a.org.id, {}, None)
    db.session.commit()
    row = next(r for r, _ in services.tasks(profile) if r.task_id == "spf_record")
    client.login(orgs.a.users["operator"].email)
    ok = client.post(f"/roadmap/tasks/{row.id}", data={"assigned_to_user_id": str(orgs.a.users["admin"].id),
                                                       "user_notes": "DNS change booked"})
    assert ok.status_code == 303
    db.session.refresh(row)
    assert (row.assigned_to_user_id, row.user_notes) == (orgs.a.users["admin"].id, "DNS change booked")
    other = client.post(f"/roadmap/tasks/{row.id}", data={"assigned_to_user_id": str(orgs.b.users["admin"].id)})
    assert other.status_code == 422
    assert "DNS change booked" in client.get(f"/roadmap/tasks/{row.id}").text


def test_tasks_of_two_findings_say_what_each_is_about(client, orgs):
    # Two scanners with critical CVEs are two "Patch critical vulnerabilities" cards; without
    # the asset on each card the board looked like it listed one task twice.
    from datetime import timedelta

    from app.models import Device, ScannerStats, utcnow

    now = utcnow()
    for name in ("scan-east", "scan-west"):
        device = Device(org_id=orgs.a.org.id, hostname=name, device_type="scanner", status="active",
                        enrolled_at=now - timedelta(days=3), last_seen_at=now)
        db.session.add(device)
        db.session.flush()
        db.session.add(ScannerStats(device_id=device.id, vulns_critical=1))
    services.save_profile(orgs.a.org.id, {}, None)
    client.login(orgs.a.users["operator"].email)
    board = client.get("/roadmap/").text
    assert "(scan-east)</span>" in board and "(scan-west)</span>" in board
