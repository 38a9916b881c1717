"""Roadmap pages: profile, board by phase with status changes, task detail, achievements, progress, CSV."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response, abort, flash, make_response, redirect, url_for
from flask_login import current_user

from app.csvexport import to_csv
from app.htmx import hx_trigger, wants_fragment
from app.models import RoadmapTask, RoadmapUserTask, db, utcnow
from app.permissions import require
from app.rendering import INVALID_FORM_STATUS, redirect_after_post, render_page
from app.reports.render import render_template_pdf
from app.roadmap import achievements, services
from app.roadmap.blueprint import bp
from app.roadmap.forms import STATUS_LABELS, ProfileForm, StatusForm, TaskForm
from app.tenancy import get_scoped_or_404, require_org_id

PHASES = {1: "This week", 2: "This month", 3: "This quarter", 4: "This year"}
TASK_COLUMNS = ("phase", "priority_order", "task_id", "task_name", "task_category", "risk_level", "difficulty_level",
                "security_score_impact", "status", "source", "finding_type", "scan_domain", "completed_at",
                "verified_at")


def _chart(profile) -> dict:
    rows = services.history(profile)
    return {"labels": [r.snapshot_date.strftime("%Y-%m-%d %H:%M") for r in rows],
            "series": {"Score": [r.security_score for r in rows], "Tasks completed": [r.tasks_completed for r in rows]}}


@bp.get("/")
@require("roadmap.view")
def board():
    """The roadmap by phase, with the score and target; without a profile, the profile form."""
    profile = services.profile_for(require_org_id())
    if profile is None:
        return redirect(url_for("roadmap.profile"))
    phases: dict[int, list] = {p: [] for p in PHASES}
    for row, task in services.tasks(profile):
        phases.setdefault(row.phase, []).append((row, task))
    return render_page("roadmap/board.html", profile=profile, phases=phases, labels=PHASES,
                       status_labels=STATUS_LABELS)


@bp.get("/profile")
@require("roadmap.view")
def profile():
    """The organization's profile (size, industry, data handled, frameworks, target score)."""
    current = services.profile_for(require_org_id())
    form = ProfileForm(obj=current)
    if current is not None:
        form.current_measures.data = "\n".join(current.current_measures or [])
    return render_page("roadmap/profile.html", form=form, profile=current)


@bp.post("/profile")
@require("roadmap.manage")
def profile_save():
    """Save the profile and (re)generate the roadmap."""
    org_id = require_org_id()
    form = ProfileForm()
    if not form.validate_on_submit():
        return render_page("roadmap/profile.html", status=INVALID_FORM_STATUS, form=form,
                           profile=services.profile_for(org_id))
    services.save_profile(org_id, form.values(), current_user.id)
    db.session.commit()
    flash("Profile saved and roadmap generated.", "success")
    return redirect_after_post("roadmap.board")


@bp.post("/regenerate")
@require("roadmap.manage")
def regenerate():
    """Regenerate the roadmap from the profile and current findings (completed work is kept)."""
    profile = services.profile_for(require_org_id())
    if profile is None:
        return redirect_after_post("roadmap.profile")
    result = services.regenerate(profile)
    db.session.commit()
    flash(f"{result['added']} task(s) added, {result['verified']} finding(s) verified fixed.", "success")
    return redirect_after_post("roadmap.board")


@bp.get("/tasks/<int:task_id>")
@require("roadmap.view")
def task_detail(task_id: int):
    """A task: why it matters, how to fix it, what finding put it here, its status."""
    return task_page(get_scoped_or_404(RoadmapUserTask, task_id))


def task_page(row: RoadmapUserTask, task_form: TaskForm | None = None, status: int = 200):
    """The task page (also re-rendered with a refused form's errors)."""
    task = db.session.scalars(sa.select(RoadmapTask).where(RoadmapTask.task_id == row.task_id)).one()
    task_form = task_form or TaskForm(obj=row, users=services.org_users(row.org_id),
                                      assigned_to_user_id=str(row.assigned_to_user_id or ""))
    return render_page("roadmap/task.html", status=status, row=row, task=task, form=StatusForm(obj=row),
                       task_form=task_form, labels=PHASES, status_labels=STATUS_LABELS)


@bp.post("/tasks/<int:task_id>")
@require("roadmap.manage")
def task_update(task_id: int):
    """Assign the task and save the team's notes."""
    row = get_scoped_or_404(RoadmapUserTask, task_id)
    form = TaskForm(users=services.org_users(row.org_id))
    if not form.validate_on_submit():
        return task_page(row, form, INVALID_FORM_STATUS)
    services.update_task(row, form.assignee(), form.user_notes.data or None)
    db.session.commit()
    flash("Task saved.", "success")
    return redirect_after_post("roadmap.task_detail", task_id=row.id)


@bp.post("/tasks/<int:task_id>/status")
@require("roadmap.manage")
def task_status(task_id: int):
    """Change a task's status (a select on the board, no dragging); the card and the score refresh."""
    row = get_scoped_or_404(RoadmapUserTask, task_id)
    form = StatusForm()
    if not form.validate_on_submit():
        return _card(row, INVALID_FORM_STATUS, card_error="Choose a valid status.")
    services.set_status(row, form.status.data)
    db.session.commit()
    if wants_fragment():
        return hx_trigger(_card(row), "roadmap-task-updated")
    return redirect_after_post("roadmap.task_detail", task_id=row.id)


def _card(row: RoadmapUserTask, status: int = 200, card_error: str | None = None):
    task = db.session.scalars(sa.select(RoadmapTask).where(RoadmapTask.task_id == row.task_id)).one()
    profile = services.profile_for(row.org_id)
    return make_response(render_page("roadmap/board.html", block="task_card", status=status, row=row, task=task,
                                     card_error=card_error, profile=profile, phases={}, labels=PHASES,
                                     status_labels=STATUS_LABELS))


@bp.get("/score")
@require("roadmap.view")
def score_panel():
    """The score panel alone (refreshed after a status change)."""
    profile = services.profile_for(require_org_id())
    return render_page("roadmap/board.html", block="score", profile=profile, phases={}, labels=PHASES,
                       status_labels=STATUS_LABELS)


@bp.get("/tasks.csv")
@require("roadmap.view")
def tasks_export():
    """The roadmap's tasks as CSV."""
    profile = services.profile_for(require_org_id())
    rows = []
    for row, task in services.tasks(profile) if profile else []:
        rows.append({**{k: getattr(task, k) for k in ("task_name", "task_category", "risk_level",
                                                      "difficulty_level", "security_score_impact")},
                     **{k: getattr(row, k) for k in TASK_COLUMNS if hasattr(row, k)}})
    return Response(to_csv(rows, TASK_COLUMNS), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="security-roadmap.csv"'})


@bp.get("/achievements")
@require("roadmap.view")
def achievements_page():
    """All ten achievements, unlocked or not, and the progress chart."""
    profile = services.profile_for(require_org_id())
    unlocked = services.unlocked(profile) if profile else {}
    return render_page("roadmap/achievements.html", profile=profile, catalogue=achievements.ACHIEVEMENTS,
                       unlocked=unlocked, chart=_chart(profile) if profile else {"labels": [], "series": {}})


@bp.get("/achievements.csv")
@require("roadmap.view")
def achievements_export():
    """Achievements and when each was unlocked, as CSV."""
    profile = services.profile_for(require_org_id())
    unlocked = services.unlocked(profile) if profile else {}
    rows = [{"achievement_id": key, "name": spec[0], "description": spec[1],
             "unlocked_at": unlocked[key].unlocked_at if key in unlocked else None}
            for key, spec in achievements.ACHIEVEMENTS.items()]
    return Response(to_csv(rows, ("achievement_id", "name", "description", "unlocked_at")), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="achievements.csv"'})


@bp.get("/progress.csv")
@require("roadmap.view")
def progress_export():
    """Progress history snapshots as CSV."""
    profile = services.profile_for(require_org_id())
    columns = ("snapshot_date", "snapshot_reason", "security_score", "tasks_completed", "tasks_total",
               "phase1_completed", "phase2_completed", "phase3_completed", "phase4_completed")
    rows = [{k: getattr(h, k) for k in columns} for h in (services.history(profile) if profile else [])]
    return Response(to_csv(rows, columns), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="roadmap-progress.csv"'})


@bp.get("/certificate.pdf")
@require("roadmap.view")
def certificate():
    """The security-champion certificate (only once that achievement is unlocked)."""
    profile = services.profile_for(require_org_id())
    achievement = services.unlocked(profile).get("security_champion") if profile else None
    if achievement is None:
        abort(404)
    completed = sum(1 for r, _ in services.tasks(profile) if r.status == "completed")
    data = render_template_pdf("roadmap/certificate.pdf.html", profile=profile, achievement=achievement, completed=completed,
                               issued_at=utcnow())
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": 'attachment; filename="security-champion.pdf"'})
