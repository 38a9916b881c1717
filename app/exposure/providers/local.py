"""Sources inside Vigil: the organization's breach corpus (its imported files) and its own
threat intelligence and security events. A password is looked up in the corpus by its HMAC."""

from __future__ import annotations

import sqlalchemy as sa

from app.exposure import keys
from app.exposure.providers.base import Context, Hit, Provider, Query
from app.models import SecurityEvent, ThreatIntelligence, db
from app.models.exposure import BreachFileResult, UploadedBreachFile

LIMIT = 200


class LocalCorpus(Provider):
    key = "local"
    label = "Breach files (local corpus)"
    types = ("email", "domain", "username", "password", "keyword")
    per_minute = 600

    def search(self, ctx: Context, query: Query) -> list[Hit]:
        stmt = (sa.select(BreachFileResult, UploadedBreachFile.filename)
                .join(UploadedBreachFile, UploadedBreachFile.id == BreachFileResult.uploaded_file_id)
                .where(BreachFileResult.org_id == ctx.org_id, BreachFileResult.deleted_at.is_(None)))
        if query.type == "email":
            stmt = stmt.where(BreachFileResult.email == query.value)
        elif query.type == "domain":
            stmt = stmt.where(BreachFileResult.email_domain == query.value)
        elif query.type == "username":
            stmt = stmt.where(BreachFileResult.username == query.value)
        elif query.type == "keyword":
            stmt = stmt.where(BreachFileResult.email.contains(query.value, autoescape=True))
        else:  # password: by HMAC, so neither the query nor the corpus ever holds it in clear
            digest = keys.password_hmac(query.value, keys.password_hmac_key())
            count = db.session.scalar(sa.select(sa.func.count()).select_from(BreachFileResult).where(
                BreachFileResult.org_id == ctx.org_id, BreachFileResult.password_hmac == digest)) or 0
            return [Hit(self.key, "password", "Password in the organization's breach files", count=count,
                        detail=f"{count} credential(s) use it")] if count else []
        rows = db.session.execute(stmt.order_by(BreachFileResult.id.desc()).limit(LIMIT)).all()
        return [Hit(self.key, "credential", filename, date=r.created_at.date().isoformat(),
                    data_classes=["Email addresses"] + (["Passwords"] if r.password_hmac else []),
                    detail=f"{r.email or r.username} (line {r.line_number})"
                    + (f", password {r.password_hint} ({r.password_length})" if r.password_hint else ""))
                for r, filename in rows]


class VigilIntel(Provider):
    key = "vigil"
    label = "Vigil threat intelligence and security events"
    types = ("email", "domain", "ip", "username", "keyword")
    per_minute = 600

    def search(self, ctx: Context, query: Query) -> list[Hit]:
        intel = db.session.scalars(sa.select(ThreatIntelligence).where(
            ThreatIntelligence.org_id == ctx.org_id,
            sa.func.lower(ThreatIntelligence.indicator_value) == query.value.lower()).limit(LIMIT)).all()
        hits = [Hit(self.key, "intel", f"{i.indicator_type} indicator: {i.threat_type or 'threat'}",
                    date=i.last_seen.date().isoformat(), detail=f"{i.severity}, source {i.source}") for i in intel]
        column = {"email": SecurityEvent.email, "username": SecurityEvent.email, "ip": SecurityEvent.ip_address}.get(query.type)
        if column is not None:
            events = db.session.scalars(sa.select(SecurityEvent).where(
                SecurityEvent.org_id == ctx.org_id, column == query.value)
                .order_by(SecurityEvent.created_at.desc()).limit(50)).all()
            hits += [Hit(self.key, "event", e.event_type.replace("_", " "), date=e.created_at.date().isoformat(),
                         detail=f"{e.severity}: {e.description}") for e in events]
        return hits
