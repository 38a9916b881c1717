"""Metrics pages: dashboard, drill-down, metrics CRUD, values, the CSF reference, the method."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, make_response, request
from flask_login import current_user

from app import audit
from app.htmx import hx_trigger, wants_fragment
from app.jobs import enqueue
from app.metrics import live, scoring, services
from app.metrics.blueprint import bp
from app.metrics.catalogs import linked_metric_counts, metric_links
from app.metrics.forms import MetricForm, ValueForm
from app.metrics.live import LIVE_QUERIES
from app.metrics.report import scorecard_csv
from app.models import FrameworkFunction, Metric, MetricCatalog, MetricHistory, User, db
from app.permissions import require
from app.rendering import INVALID_FORM_STATUS, redirect_after_post, render_page
from app.tenancy import get_scoped_or_404, require_org_id, scoped


def queue_recompute(org_id: int) -> None:
    """Scores change with values: snapshot them again once this transaction commits."""
    enqueue("metrics.recompute", org_id=org_id, requested_by_id=current_user.id)


def metric_form(metric: Metric | None = None, **kwargs) -> MetricForm:
    framework = services.current_framework()
    people = db.session.scalars(scoped(User).where(User.status == "active").order_by(User.email)).all()
    data = None
    if metric is not None and request.method != "POST":
        data = {**services.snapshot_values(metric), "function_id": str(metric.function_id),
                "category_id": str(metric.category_id or ""), "owner_id": str(metric.owner_id or "")}
    return MetricForm(functions=services.functions_of(framework), categories=services.categories_of(framework),
                      people=people, data=data, **kwargs)


@bp.get("/")
@require("data.read")
def index():
    """The metrics dashboard: overall and function scores from snapshots, attention list, trend.

    While a recompute is queued or running, the scores block polls itself (htmx) until it is done.
    """
    org_id = require_org_id()
    framework = services.current_framework()
    overall, function_rows = services.latest_snapshots(org_id)
    card = services.scorecard(org_id, framework)
    metrics = {m.id: m for m in services.org_metrics(org_id)}
    attention = [(metrics[r.metric.key], r) for r in card.attention(10)]
    return render_page("metrics/index.html", block="scores", framework=framework,
                       functions=services.functions_of(framework), overall=overall, function_rows=function_rows,
                       attention=attention, notes=live.live_notes(m for m, _ in attention), chart=services.trend(org_id), metric_count=len(metrics),
                       pending=services.scores_pending(org_id))


@bp.get("/scorecard.csv")
@require("data.read")
def scorecard_export():
    """The organization's scorecard (overall, functions, categories, metrics) as CSV for a board pack."""
    from flask import Response

    org_id = require_org_id()
    return Response(scorecard_csv(org_id), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="security-scorecard.csv"'})


@bp.post("/recompute")
@require("data.write")
def recompute():
    """Queue a fresh score snapshot for this organization."""
    org_id = require_org_id()
    audit.record("metrics.recompute_requested", resource_type="organization", resource_id=org_id)
    queue_recompute(org_id)
    db.session.commit()
    flash("Scores are being recomputed.", "info")
    return redirect_after_post("metrics.index")


@bp.get("/functions/<code>")
@require("data.read")
def function_detail(code: str):
    """One function: its categories with live scores, and each category's metrics."""
    framework = services.current_framework()
    function = db.session.scalar(sa.select(FrameworkFunction).where(
        FrameworkFunction.framework_id == (framework.id if framework else None), FrameworkFunction.code == code))
    if function is None:
        abort(404)
    org_id = require_org_id()
    metrics = [m for m in services.org_metrics(org_id) if m.function_id == function.id]
    card = scoring.scorecard([services.as_input(m) for m in metrics], [function.code], services.current_ratings())
    results = {r.metric.key: r for r in card.metrics}
    return render_page("metrics/function.html", function=function, card=card, metrics=metrics, results=results,
                       notes=live.live_notes(metrics))


@bp.get("/list")
@require("data.read")
def metric_list():
    """Every metric of the organization with its live score, filterable by function."""
    org_id = require_org_id()
    stmt = scoped(Metric).join(FrameworkFunction)
    function = request.args.get("function") or None
    if function:
        stmt = stmt.where(FrameworkFunction.code == function)
    metrics = db.session.scalars(stmt.order_by(Metric.metric_number)).all()
    results = {m.id: scoring.score_metric(services.as_input(m)) for m in metrics}
    return render_page("metrics/list.html", block="metric_rows", metrics=metrics, results=results,
                       notes=live.live_notes(metrics), functions=services.functions_of(services.current_framework()), function=function,
                       org_id=org_id)


@bp.route("/new", methods=["GET", "POST"])
@require("data.write")
def metric_new():
    """Create a metric mapped to a CSF function and (optionally) a category."""
    if services.current_framework() is None:
        abort(409, "No framework is loaded: run `vigil metrics load-framework` first.")
    form = metric_form()
    if form.validate_on_submit():
        org_id = require_org_id()
        values = services.with_live_value({**form.values(), "org_id": org_id})
        values.pop("org_id")
        metric = services.create_metric(org_id, current_user, **values)
        if metric.current_value is not None:
            queue_recompute(org_id)
        db.session.commit()
        flash(f"Metric {metric.metric_number} created.", "success")
        return redirect_after_post("metrics.metric_detail", metric_id=metric.id)
    return render_page("metrics/form.html", status=INVALID_FORM_STATUS if form.errors else 200, form=form,
                       metric=None)


@bp.get("/<int:metric_id>")
@require("data.read")
def metric_detail(metric_id: int):
    """One metric: its score, gap, history and the value form."""
    metric = get_scoped_or_404(Metric, metric_id)
    return _detail(metric, ValueForm(metric=metric))


def _detail(metric: Metric, value_form: ValueForm, status: int = 200):
    history = db.session.scalars(sa.select(MetricHistory).where(MetricHistory.metric_id == metric.id)
                                 .order_by(MetricHistory.recorded_at.desc(), MetricHistory.id.desc())
                                 .limit(100)).all()

    catalog = db.session.scalar(scoped(MetricCatalog).where(MetricCatalog.id == metric.catalog_id)) \
        if metric.catalog_id else None
    return render_page("metrics/detail.html", status=status, metric=metric, history=history, value_form=value_form,
                       catalog=catalog, notes=live.live_notes([metric]),
                       result=scoring.score_metric(services.as_input(metric)), links=metric_links(metric),
                       chart=services.history_chart(metric))


@bp.route("/<int:metric_id>/edit", methods=["GET", "POST"])
@require("data.write")
def metric_edit(metric_id: int):
    """Change a metric's definition; a locked metric refuses."""
    metric = get_scoped_or_404(Metric, metric_id)
    if metric.is_locked:
        abort(409, "This metric is locked: unlock it before changing it.")
    form = metric_form(metric)
    if form.validate_on_submit():
        value_before = metric.current_value
        values = services.with_live_value({**form.values(), "org_id": metric.org_id})
        values.pop("org_id")
        if services.update_metric(metric, current_user, **values):
            if metric.current_value != value_before:
                queue_recompute(metric.org_id)
            db.session.commit()
            flash("Metric saved.", "success")
        return redirect_after_post("metrics.metric_detail", metric_id=metric.id)
    return render_page("metrics/form.html", status=INVALID_FORM_STATUS if form.errors else 200, form=form,
                       metric=metric)


@bp.post("/<int:metric_id>/value")
@require("data.write")
def metric_value(metric_id: int):
    """Record a new value with a note: history, audit, and a score recompute."""
    metric = get_scoped_or_404(Metric, metric_id)
    if metric.is_locked:
        abort(409, "This metric is locked: unlock it before recording a value.")
    if metric.live_source:
        abort(409, "This metric's value comes from a live query: it cannot be entered by hand.")
    form = ValueForm(metric=metric)
    if not form.validate_on_submit():
        if wants_fragment():  # the inline edit of the metric list: the row again, with the message
            message = " ".join(form.value.errors).replace("tick the confirmation box", "confirm it on the metric's page")
            return _row(metric, status=INVALID_FORM_STATUS, row_error=message, typed=request.form.get("value", ""))
        return _detail(metric, form, status=INVALID_FORM_STATUS)
    services.record_value(metric, current_user, form.value.data, form.note.data or None)
    queue_recompute(metric.org_id)
    db.session.commit()
    if wants_fragment():
        return hx_trigger(_row(metric), "metrics-value-recorded")
    flash("Value recorded.", "success")
    return redirect_after_post("metrics.metric_detail", metric_id=metric.id)


def _row(metric: Metric, status: int = 200, row_error: str | None = None, typed: str | None = None):
    """One row of the metric list (the inline value edit's answer; a refused value is shown as typed)."""
    response = render_page("metrics/list.html", block="metric_row", status=status, m=metric,
                           r=scoring.score_metric(services.as_input(metric)), row_error=row_error, typed=typed,
                           metrics=[], results={}, notes=live.live_notes([metric]), functions=[], function=None)
    return make_response(response)


@bp.post("/<int:metric_id>/lock")
@require("data.write")
def metric_lock(metric_id: int):
    """Lock a metric against edits and new values."""
    metric = get_scoped_or_404(Metric, metric_id)
    services.set_locked(metric, True)
    db.session.commit()
    return redirect_after_post("metrics.metric_detail", metric_id=metric.id)


@bp.post("/<int:metric_id>/unlock")
@require("data.write")
def metric_unlock(metric_id: int):
    """Unlock a metric so it can be changed again."""
    metric = get_scoped_or_404(Metric, metric_id)
    services.set_locked(metric, False)
    db.session.commit()
    return redirect_after_post("metrics.metric_detail", metric_id=metric.id)


@bp.post("/<int:metric_id>/delete")
@require("data.write")
def metric_delete(metric_id: int):
    """Soft-delete a metric (its history stays); a locked metric refuses."""
    metric = get_scoped_or_404(Metric, metric_id)
    try:
        services.delete_metric(metric)
    except services.MetricLocked as exc:
        abort(409, str(exc))
    queue_recompute(metric.org_id)
    db.session.commit()
    flash(f"Metric {metric.metric_number} deleted.", "success")
    return redirect_after_post("metrics.metric_list")


@bp.get("/framework")
@require("data.read")
def framework():
    """Browse the loaded framework: function, category, subcategory and implementation examples."""
    fw = services.current_framework()
    return render_page("metrics/framework.html", framework=fw, functions=services.functions_of(fw),
                       linked=linked_metric_counts(require_org_id()))


@bp.get("/method")
@require("data.read")
def method():
    """How scores are computed, with the constants the scorer uses."""
    return render_page("metrics/method.html", weights=scoring.PRIORITY_WEIGHTS, ratings=services.current_ratings(),
                       lowest=scoring.LOWEST_RATING, below=scoring.BELOW_TARGET, live_queries=LIVE_QUERIES)
