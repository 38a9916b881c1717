"""Exposure intelligence (seed 001, NERVE's GHOST search and OPSYCH): breach and combolist
files, the searches run across breach providers, monitored e-mails and people's profiles.

No column holds a plaintext password. A leaked credential is kept as what a security team
needs to act on it: the normalised e-mail, its domain, the username, the password's length,
character classes and strength, a masked hint, the k-anonymity SHA-1 prefix and a keyed
HMAC (server key) that recognises the same password across files without revealing it.
The seed's two upload pipelines (uploaded_breach_files/breach_file_results and
uploaded_files/uploaded_credentials) are one pipeline here; docs/schema-map.md maps both.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import OrgOwnedMixin, SoftDeleteMixin, TimestampMixin, db, utcnow

UPLOAD_STATUSES = ("pending", "processing", "completed", "failed")
MONITOR_SCOPES = ("company", "analyst", "admin")
FINDING_SEVERITIES = ("low", "medium", "high", "critical")


class ActiveMixin:
    """The seed's `is_active` flag, kept next to soft delete on every exposure table."""

    is_active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())


def _user_fk() -> Any:
    return mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)


class GhostSearchQuery(OrgOwnedMixin, TimestampMixin, SoftDeleteMixin, ActiveMixin, db.Model):
    """One unified search: what was asked, of which sources, how each answered and how fast."""

    __tablename__ = "ghost_search_queries"
    __table_args__ = (sa.Index("ix_ghost_search_queries_org_time", "org_id", "searched_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = _user_fk()
    query_type: Mapped[str] = mapped_column(sa.String(20))
    # A searched password is never stored: this holds "(password not stored)" for that type.
    query_value: Mapped[str] = mapped_column(sa.String(255))
    results_count: Mapped[int] = mapped_column(default=0)
    search_sources: Mapped[list[Any]] = mapped_column(default=list)
    source_status: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The merged hits (never a password), so a search can be exported later as CSV or JSON.
    results: Mapped[list[Any]] = mapped_column(default=list)
    response_time_ms: Mapped[int | None] = mapped_column()
    searched_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class MonitoredEmail(OrgOwnedMixin, TimestampMixin, SoftDeleteMixin, ActiveMixin, db.Model):
    """An address the organization watches; an address outside its domains counts only once
    its owner confirmed the signed link (`confirmed_at`)."""

    __tablename__ = "monitored_emails"
    __table_args__ = (
        sa.UniqueConstraint("org_id", "email_address"),
        sa.CheckConstraint("monitor_scope IN ('company', 'analyst', 'admin')", name="scope"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = _user_fk()
    created_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    email_address: Mapped[str] = mapped_column(sa.String(255), index=True)
    monitor_scope: Mapped[str] = mapped_column(sa.String(20), default="company")
    confirmed_at: Mapped[datetime | None] = mapped_column()
    last_checked: Mapped[datetime | None] = mapped_column()
    findings_count: Mapped[int] = mapped_column(default=0)


class MonitoredEmailFinding(OrgOwnedMixin, TimestampMixin, SoftDeleteMixin, ActiveMixin, db.Model):
    """A breach, paste or leaked credential found for a monitored address; one per
    (source, breach, address), so a recheck that finds it again adds and sends nothing."""

    __tablename__ = "monitored_email_findings"
    __table_args__ = (sa.UniqueConstraint("monitored_email_id", "dedupe_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    monitored_email_id: Mapped[int] = mapped_column(
        sa.ForeignKey("monitored_emails.id", ondelete="CASCADE"), index=True)
    finding_type: Mapped[str] = mapped_column(sa.String(50))
    source: Mapped[str] = mapped_column(sa.String(100))
    breach_name: Mapped[str | None] = mapped_column(sa.String(255))
    breach_date: Mapped[datetime | None] = mapped_column()
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    severity: Mapped[str] = mapped_column(sa.String(20))
    dedupe_key: Mapped[str] = mapped_column(sa.String(64))
    notified: Mapped[bool] = mapped_column(default=False)
    notified_at: Mapped[datetime | None] = mapped_column()
    found_at: Mapped[datetime] = mapped_column(default=utcnow)


class UploadedBreachFile(OrgOwnedMixin, TimestampMixin, SoftDeleteMixin, ActiveMixin, db.Model):
    """A breach or combolist file (seed uploaded_breach_files + uploaded_files). The raw file
    is kept sealed (AES-GCM) until `expires_at`, then deleted; its derived rows stay."""

    __tablename__ = "uploaded_breach_files"
    __table_args__ = (
        sa.UniqueConstraint("org_id", "content_hash"),
        sa.CheckConstraint(
            "processing_status IN ('pending', 'processing', 'completed', 'failed')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    upload_id: Mapped[str] = mapped_column(sa.String(36), unique=True)
    user_id: Mapped[int | None] = _user_fk()
    filename: Mapped[str] = mapped_column(sa.String(255))
    file_size: Mapped[int] = mapped_column(sa.BigInteger)
    file_path: Mapped[str | None] = mapped_column(sa.String(500))
    storage_location: Mapped[str] = mapped_column(sa.String(20), default="local")
    indexed: Mapped[bool] = mapped_column(default=False)
    line_count: Mapped[int] = mapped_column(default=0)
    records_count: Mapped[int] = mapped_column(default=0)
    duplicate_count: Mapped[int] = mapped_column(default=0)
    rejected_count: Mapped[int] = mapped_column(default=0)
    matched_count: Mapped[int] = mapped_column(default=0)
    processing_status: Mapped[str] = mapped_column(sa.String(20), default="pending")
    processing_error: Mapped[str | None] = mapped_column(sa.Text)
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    mime_type: Mapped[str] = mapped_column(sa.String(100))
    detected_format: Mapped[str | None] = mapped_column(sa.String(30))
    virus_scanned: Mapped[bool] = mapped_column(default=False)
    virus_scan_result: Mapped[str | None] = mapped_column(sa.String(100))
    security_flags: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The first rejected lines (line number and reason, never the line itself).
    errors: Mapped[list[Any]] = mapped_column(default=list)
    job_run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("job_runs.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    raw_deleted_at: Mapped[datetime | None] = mapped_column()


class BreachFileResult(OrgOwnedMixin, TimestampMixin, SoftDeleteMixin, ActiveMixin, db.Model):
    """One credential from a file (seed breach_file_results + uploaded_credentials), without
    its password: `credential_key` (an HMAC of identity and password) makes it unique per
    organization, so the same credential in a second file is a duplicate."""

    __tablename__ = "breach_file_results"
    __table_args__ = (
        sa.UniqueConstraint("org_id", "credential_key"),
        sa.Index("ix_breach_file_results_org_email", "org_id", "email"),
        sa.Index("ix_breach_file_results_org_hmac", "org_id", "password_hmac"),
        sa.Index("ix_breach_file_results_org_matched", "org_id", "matched"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uploaded_file_id: Mapped[int] = mapped_column(
        sa.ForeignKey("uploaded_breach_files.id", ondelete="CASCADE"), index=True)
    line_number: Mapped[int] = mapped_column()
    email: Mapped[str | None] = mapped_column(sa.String(255))
    email_domain: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    username: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    password_length: Mapped[int | None] = mapped_column()
    password_classes: Mapped[str | None] = mapped_column(sa.String(8))
    password_strength: Mapped[int | None] = mapped_column()
    password_hint: Mapped[str | None] = mapped_column(sa.String(8))
    password_sha1_prefix: Mapped[str | None] = mapped_column(sa.String(5))
    password_hmac: Mapped[str | None] = mapped_column(sa.String(64))
    credential_key: Mapped[str] = mapped_column(sa.String(64))
    additional_data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Set when the credential belongs to the organization (its domains, users, monitored e-mails).
    matched: Mapped[bool] = mapped_column(default=False)
    match_reason: Mapped[str | None] = mapped_column(sa.String(30))
    user_id: Mapped[int | None] = _user_fk()
    password_in_use: Mapped[bool] = mapped_column(default=False)


class Profile(OrgOwnedMixin, TimestampMixin, SoftDeleteMixin, ActiveMixin, db.Model):
    """A person of the organization whose exposure is watched (OPSYCH)."""

    __tablename__ = "profiles"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(255))
    email: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    username: Mapped[str | None] = mapped_column(sa.String(255))
    phone: Mapped[str | None] = mapped_column(sa.String(50))
    company: Mapped[str | None] = mapped_column(sa.String(255))
    position: Mapped[str | None] = mapped_column(sa.String(255))
    notes: Mapped[str | None] = mapped_column(sa.Text)
    risk_score: Mapped[float] = mapped_column(default=0.0)
    breach_count: Mapped[int] = mapped_column(default=0)
    mention_count: Mapped[int] = mapped_column(default=0)
    social_media_json: Mapped[list[Any]] = mapped_column(default=list)
    # Seed `exposed_passwords` held passwords; Vigil keeps only how many are known.
    exposed_passwords_count: Mapped[int] = mapped_column(default=0)
    data_leaks: Mapped[list[Any]] = mapped_column(default=list)
    user_id: Mapped[int | None] = _user_fk()


def _profile_fk(nullable: bool = True) -> Any:
    return mapped_column(sa.ForeignKey("profiles.id", ondelete="CASCADE"), index=True, nullable=nullable)


class SocialMedia(OrgOwnedMixin, SoftDeleteMixin, ActiveMixin, db.Model):
    __tablename__ = "social_media"
    __table_args__ = (sa.UniqueConstraint("profile_id", "platform", "username"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[str] = _profile_fk(nullable=False)
    platform: Mapped[str | None] = mapped_column(sa.String(100))
    username: Mapped[str | None] = mapped_column(sa.String(255))
    url: Mapped[str | None] = mapped_column(sa.String(500))
    followers: Mapped[int | None] = mapped_column()
    posts_count: Mapped[int | None] = mapped_column()
    discovered_at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = _user_fk()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Breach(OrgOwnedMixin, SoftDeleteMixin, ActiveMixin, db.Model):
    """A breach a profile appears in, with the severity the risk score counts."""

    __tablename__ = "breaches"
    __table_args__ = (sa.UniqueConstraint("profile_id", "source", "breach_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[str] = _profile_fk(nullable=False)
    source: Mapped[str] = mapped_column(sa.String(100), default="local")
    breach_name: Mapped[str | None] = mapped_column(sa.String(255))
    breach_date: Mapped[str | None] = mapped_column(sa.String(30))
    data_classes: Mapped[list[Any]] = mapped_column(default=list)
    severity: Mapped[str] = mapped_column(sa.String(20), default="low")
    discovered_at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = _user_fk()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class OsintDevice(OrgOwnedMixin, SoftDeleteMixin, ActiveMixin, db.Model):
    """Seed `devices` (renamed: `devices` is the fleet's table)."""

    __tablename__ = "osint_devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[str | None] = _profile_fk()
    ip_address: Mapped[str | None] = mapped_column(sa.String(45))
    hostname: Mapped[str | None] = mapped_column(sa.String(255))
    device_type: Mapped[str | None] = mapped_column(sa.String(50))
    ports_open: Mapped[list[Any]] = mapped_column(default=list)
    vulnerabilities: Mapped[list[Any]] = mapped_column(default=list)
    location: Mapped[str | None] = mapped_column(sa.String(255))
    discovered_at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = _user_fk()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class GithubFinding(OrgOwnedMixin, SoftDeleteMixin, ActiveMixin, db.Model):
    """Code or gist that mentions the organization; a secret in it is kept masked with its HMAC."""

    __tablename__ = "github_findings"
    __table_args__ = (sa.UniqueConstraint("org_id", "gist_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[str | None] = _profile_fk()
    gist_id: Mapped[str] = mapped_column(sa.String(255), index=True)
    gist_url: Mapped[str] = mapped_column(sa.String(500))
    filename: Mapped[str | None] = mapped_column(sa.String(255))
    created_at: Mapped[datetime | None] = mapped_column()  # the gist's or file's own creation time
    query_term: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    query_type: Mapped[str | None] = mapped_column(sa.String(30), index=True)
    credential_type: Mapped[str | None] = mapped_column(sa.String(50))
    credential_masked: Mapped[str | None] = mapped_column(sa.String(64))
    credential_hmac: Mapped[str | None] = mapped_column(sa.String(64))
    context: Mapped[str | None] = mapped_column(sa.Text)
    discovered_at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = _user_fk()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PastebinFinding(OrgOwnedMixin, SoftDeleteMixin, ActiveMixin, db.Model):
    __tablename__ = "pastebin_findings"
    __table_args__ = (sa.UniqueConstraint("org_id", "paste_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[str | None] = _profile_fk()
    paste_id: Mapped[str] = mapped_column(sa.String(255), index=True)
    paste_title: Mapped[str | None] = mapped_column(sa.String(255))
    paste_url: Mapped[str] = mapped_column(sa.String(500))
    posted_date: Mapped[str | None] = mapped_column(sa.String(40))
    query_term: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    query_type: Mapped[str | None] = mapped_column(sa.String(30), index=True)
    credential_masked: Mapped[str | None] = mapped_column(sa.String(64))
    credential_hmac: Mapped[str | None] = mapped_column(sa.String(64))
    context: Mapped[str | None] = mapped_column(sa.Text)
    discovered_at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = _user_fk()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class OpsychSearchResult(OrgOwnedMixin, SoftDeleteMixin, ActiveMixin, db.Model):
    """An account found by a username search across sites (one row per site that answered)."""

    __tablename__ = "opsych_search_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[str | None] = _profile_fk()
    search_id: Mapped[str] = mapped_column(sa.String(36), index=True)
    query_input: Mapped[str] = mapped_column(sa.String(255), index=True)
    query_type: Mapped[str | None] = mapped_column(sa.String(30))
    platform: Mapped[str | None] = mapped_column(sa.String(100), index=True)
    username: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    url: Mapped[str | None] = mapped_column(sa.String(500))
    bio: Mapped[str | None] = mapped_column(sa.Text)
    source: Mapped[str | None] = mapped_column(sa.String(50))
    discovered_at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = _user_fk()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
