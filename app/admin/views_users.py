"""Users of the current organization: list, invite, edit, and account actions."""

from __future__ import annotations

from collections.abc import Callable

from flask import flash, request, session, url_for
from flask_login import current_user

from app.admin import services
from app.admin.blueprint import bp
from app.admin.forms import UserCreateForm, UserEditForm, UserFilterForm
from app.auth.services import make_set_password_token
from app.models import User, db
from app.pagination import page_arg
from app.permissions import ASSIGNABLE_ROLES, require
from app.rendering import INVALID_FORM_STATUS, redirect_after_post, render_page
from app.tenancy import current_org, get_scoped_or_404, require_org_id

PER_PAGE = 25
# The one-time link travels from the POST to the page that shows it, and is then forgotten.
LINK_KEY = "admin_set_password_link"


def me() -> User:
    return current_user._get_current_object()


def remember_link(user: User, token: str) -> None:
    session[LINK_KEY] = {"user_id": user.id, "url": url_for("auth.set_password", token=token, _external=True)}


def take_link(user: User) -> str | None:
    stored = session.get(LINK_KEY)
    if not stored or stored.get("user_id") != user.id:
        return None
    session.pop(LINK_KEY)
    return stored["url"]


@bp.get("/users")
@require("user.view")
def users():
    """List the organization's users: filter by role and status, search by email or name."""
    require_org_id()
    form = UserFilterForm(request.args)
    if request.args and not form.validate():
        return render_page("admin/users.html", block="users_table", status=INVALID_FORM_STATUS,
                           form=form, rows=None, filters={}, sessions={})
    stmt = services.users_query(form.q.data, role=form.role.data or None, status=form.status.data or None)
    rows = db.paginate(stmt, page=page_arg(), per_page=PER_PAGE, error_out=False)
    filters = {k: v for k, v in (("q", form.q.data), ("role", form.role.data), ("status", form.status.data)) if v}
    return render_page("admin/users.html", block="users_table", form=form, rows=rows, filters=filters,
                       sessions=services.live_session_counts([u.id for u in rows.items]))


@bp.route("/users/new", methods=["GET", "POST"])
@require("user.manage")
def user_new():
    """Invite a user; their one-time set-password link is shown once on the next page."""
    org_id = require_org_id()
    form = UserCreateForm(actor_role=current_user.role)
    error = None
    if form.validate_on_submit():
        try:
            user = services.invite_user(me(), org_id, form.data)
        except services.RuleError as err:
            db.session.rollback()
            if err.field:
                form[err.field].errors.append(err.message)
            else:
                error = err.message
        else:
            token = make_set_password_token(user)
            db.session.commit()
            remember_link(user, token)
            flash(f"{user.email} was invited. Send them the link below.", "success")
            return redirect_after_post("admin.user_edit", user_id=user.id)
    status = INVALID_FORM_STATUS if (form.errors or error) else 200
    return render_page("admin/user_new.html", block="user_form", status=status, form=form, error=error,
                       org=current_org())


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@require("user.manage")
def user_edit(user_id: int):
    """A user's details, lockout, MFA and sessions; edit names and role."""
    user = get_scoped_or_404(User, user_id)
    form = UserEditForm(obj=user, actor_role=current_user.role, target_role=user.role)
    error = None
    if form.validate_on_submit():
        try:
            changed = services.update_user(me(), user, form.data)
        except services.RuleError as err:
            db.session.rollback()
            if err.field:
                form[err.field].errors.append(err.message)
            else:
                error = err.message
        else:
            db.session.commit()
            flash(f"{user.email} saved." if changed else "Nothing changed.", "success" if changed else "info")
            return redirect_after_post("admin.user_edit", user_id=user.id)
    status = INVALID_FORM_STATUS if (form.errors or error) else 200
    return render_page(
        "admin/user_edit.html", block="user_form", status=status, form=form, error=error, user=user,
        link=take_link(user) if request.method == "GET" else None,
        live_sessions=services.live_session_counts([user.id]).get(user.id, 0),
        manageable=user.role in ASSIGNABLE_ROLES.get(current_user.role, ()),
    )


def user_action(user_id: int, action: Callable[[User, User], object], done: str):
    """Run one account action on a user of this organization; a refused rule is flashed."""
    user = get_scoped_or_404(User, user_id)
    try:
        result = action(me(), user)
    except services.RuleError as err:
        db.session.rollback()
        flash(err.message, "error")
        return redirect_after_post("admin.user_edit", user_id=user_id)
    db.session.commit()
    flash(done.format(email=user.email, result=result), "success")
    return redirect_after_post("admin.user_edit", user_id=user_id)


@bp.post("/users/<int:user_id>/deactivate")
@require("user.manage")
def user_deactivate(user_id: int):
    """Deactivate a user and end every session of theirs."""
    return user_action(user_id, services.deactivate_user, "{email} is deactivated; {result} session(s) ended.")


@bp.post("/users/<int:user_id>/reactivate")
@require("user.manage")
def user_reactivate(user_id: int):
    """Let a deactivated user sign in again."""
    return user_action(user_id, services.reactivate_user, "{email} is active again.")


@bp.post("/users/<int:user_id>/unlock")
@require("user.manage")
def user_unlock(user_id: int):
    """Lift a lockout after too many failed sign-ins."""
    return user_action(user_id, services.unlock_user, "{email} is unlocked.")


@bp.post("/users/<int:user_id>/reset-mfa")
@require("user.manage")
def user_reset_mfa(user_id: int):
    """Remove a user's authenticator (and backup codes, trusted browsers) so they enrol again."""
    return user_action(user_id, services.reset_mfa, "MFA of {email} was reset.")


@bp.post("/users/<int:user_id>/revoke-sessions")
@require("user.manage")
def user_revoke_sessions(user_id: int):
    """Sign a user out of every session."""
    return user_action(user_id, services.revoke_sessions, "{result} session(s) of {email} ended.")


@bp.post("/users/<int:user_id>/invite-link")
@require("user.manage")
def user_invite_link(user_id: int):
    """Make a new one-time set-password link (invitation or reset), shown once."""
    user = get_scoped_or_404(User, user_id)
    try:
        token = services.issue_set_password_token(me(), user)
    except services.RuleError as err:
        db.session.rollback()
        flash(err.message, "error")
        return redirect_after_post("admin.user_edit", user_id=user_id)
    db.session.commit()
    remember_link(user, token)
    flash("A new link was made. Copy it now: it is shown only once.", "success")
    return redirect_after_post("admin.user_edit", user_id=user_id)
