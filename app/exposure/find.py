"""Global search (app/search): monitored e-mails (only the scopes the viewer's role may
see), people's profiles, and breach credentials by e-mail or username. A credential hit
shows where it came from and never anything about its password. (`search.py` in this
package is the ghost search across breach sources, a different thing.)"""

from __future__ import annotations

import sqlalchemy as sa
from flask_login import current_user

from app.exposure.monitoring import visible_scopes
from app.models import BreachFileResult, MonitoredEmail, Profile, UploadedBreachFile, db
from app.notifications.services import app_path
from app.search.registry import Hit, register_provider
from app.search.text import any_contains, contains, rank


def search_monitored(org_id: int, term: str, limit: int) -> list[Hit]:
    role = getattr(current_user, "role", None) or ""
    rows = db.session.execute(
        sa.select(MonitoredEmail.id, MonitoredEmail.email_address, MonitoredEmail.findings_count,
                  MonitoredEmail.monitor_scope)
        .where(MonitoredEmail.org_id == org_id, MonitoredEmail.deleted_at.is_(None),
               MonitoredEmail.monitor_scope.in_(visible_scopes(role)), contains(MonitoredEmail.email_address, term))
        .order_by(rank(MonitoredEmail.email_address, term), MonitoredEmail.id).limit(limit)).all()
    return [Hit(row.email_address, app_path("exposure.monitored_list"),
                f"{row.findings_count} finding(s) · {row.monitor_scope} scope") for row in rows]


def search_profiles(org_id: int, term: str, limit: int) -> list[Hit]:
    rows = db.session.execute(
        sa.select(Profile.id, Profile.name, Profile.email, Profile.risk_score)
        .where(Profile.org_id == org_id, Profile.deleted_at.is_(None),
               any_contains([Profile.name, Profile.email, Profile.username], term))
        .order_by(rank(Profile.name, term), Profile.id).limit(limit)).all()
    return [Hit(row.name, app_path("exposure.profile_detail", profile_id=row.id),
                " · ".join(x for x in (row.email, f"risk {row.risk_score:g}") if x)) for row in rows]


def search_credentials(org_id: int, term: str, limit: int) -> list[Hit]:
    # Only identity columns are searched or shown: no password property ever leaves here.
    rows = db.session.execute(
        sa.select(BreachFileResult.email, BreachFileResult.username, BreachFileResult.match_reason,
                  BreachFileResult.uploaded_file_id, UploadedBreachFile.filename)
        .join(UploadedBreachFile, UploadedBreachFile.id == BreachFileResult.uploaded_file_id)
        .where(BreachFileResult.org_id == org_id, BreachFileResult.deleted_at.is_(None),
               UploadedBreachFile.deleted_at.is_(None),
               any_contains([BreachFileResult.email, BreachFileResult.username], term))
        .order_by(BreachFileResult.matched.desc(), BreachFileResult.id.desc()).limit(limit)).all()
    return [Hit(row.email or row.username or "(no identity)",
                app_path("exposure.credential_list", q=row.email or row.username or ""),
                " · ".join(x for x in (f"in {row.filename}", row.match_reason and f"matched: {row.match_reason}") if x))
            for row in rows]


register_provider("exposure_monitored", "Monitored e-mails", "exposure.view", search_monitored, order=70)
register_provider("exposure_profiles", "People", "exposure.details", search_profiles, order=71)
register_provider("exposure_credentials", "Exposed credentials", "exposure.details", search_credentials, order=72)
