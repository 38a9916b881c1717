"""People's exposure (OPSYCH): the risk score, factor by factor, breaches from the sources,
and the attacker view (what an attacker learns about the person and what to do about it).

The score follows the seed's method: breaches (worst severity: critical 40, high 30,
medium 20, any low 10), professional data (company +10, position +8, LinkedIn or Twitter
+7), mentions (>=10: 20, >=5: 15, >=2: 10, >=1: 5), social accounts (>=5: 15, >=3: 10,
>=1: 5), capped at 100. `score()` is pure; `recompute()` feeds it from the tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from app.exposure import osint
from app.exposure.monitoring import severity
from app.exposure.providers import PROVIDERS
from app.exposure.providers.base import Context, Query, run_provider
from app.models import db, utcnow
from app.models.exposure import (
    Breach,
    BreachFileResult,
    GithubFinding,
    PastebinFinding,
    Profile,
    SocialMedia,
)

BREACH_POINTS = {"critical": 40, "high": 30, "medium": 20, "low": 10}
MENTION_STEPS = ((10, 20), (5, 15), (2, 10), (1, 5))
SOCIAL_STEPS = ((5, 15), (3, 10), (1, 5))
PROFESSIONAL_PLATFORMS = ("linkedin", "twitter", "x")
BREACH_SOURCES = ("local", "hibp", "xposedornot", "leakcheck", "github", "psbdmp")


@dataclass(frozen=True)
class Factor:
    name: str
    points: int
    reason: str


@dataclass
class Score:
    total: int
    factors: list[Factor] = field(default_factory=list)


def _step(count: int, steps: tuple[tuple[int, int], ...]) -> int:
    return next((points for floor, points in steps if count >= floor), 0)


def score(breach_severities: list[str], company: bool, position: bool, platforms: list[str],
          mentions: int) -> Score:
    """The exposure risk score with each factor's points and why."""
    factors: list[Factor] = []
    worst = next((s for s in ("critical", "high", "medium", "low") if s in breach_severities), None)
    factors.append(Factor("Breaches", BREACH_POINTS.get(worst, 0),
                          f"{len(breach_severities)} breach(es), worst {worst}" if worst else "no known breach"))
    professional = (10 if company else 0) + (8 if position else 0)
    pro_platform = any(p.lower() in PROFESSIONAL_PLATFORMS for p in platforms)
    professional += 7 if pro_platform else 0
    parts = [label for flag, label in ((company, "company +10"), (position, "position +8"),
                                       (pro_platform, "LinkedIn or Twitter +7")) if flag]
    factors.append(Factor("Professional data", professional, ", ".join(parts) or "none public"))
    factors.append(Factor("Mentions", _step(mentions, MENTION_STEPS), f"{mentions} mention(s) in code or pastes"))
    factors.append(Factor("Social accounts", _step(len(platforms), SOCIAL_STEPS), f"{len(platforms)} account(s) found"))
    return Score(min(100, sum(f.points for f in factors)), factors)


def inputs(profile: Profile) -> dict:
    severities = list(db.session.scalars(sa.select(Breach.severity).where(
        Breach.profile_id == profile.id, Breach.deleted_at.is_(None))))
    platforms = list(db.session.scalars(sa.select(SocialMedia.platform).where(
        SocialMedia.profile_id == profile.id, SocialMedia.deleted_at.is_(None))))
    mentions = profile.mention_count + sum(db.session.scalar(sa.select(sa.func.count()).select_from(m).where(
        m.profile_id == profile.id, m.deleted_at.is_(None))) or 0 for m in (GithubFinding, PastebinFinding))
    return {"breach_severities": severities, "company": bool(profile.company), "position": bool(profile.position),
            "platforms": [p or "" for p in platforms], "mentions": mentions}


def recompute(profile: Profile) -> Score:
    result = score(**inputs(profile))
    profile.risk_score = float(result.total)
    profile.breach_count = db.session.scalar(sa.select(sa.func.count()).select_from(Breach).where(
        Breach.profile_id == profile.id, Breach.deleted_at.is_(None))) or 0
    return result


def refresh_breaches(profile: Profile) -> dict[str, str]:
    """Ask the breach sources about the profile's e-mail; add breaches not yet known.
    A credential in the breach files whose password is still in use makes it critical."""
    statuses: dict[str, str] = {}
    if not profile.email:
        return statuses
    known = {(b.source, (b.breach_name or "").lower()) for b in db.session.scalars(
        sa.select(Breach).where(Breach.profile_id == profile.id))}
    in_use = bool(db.session.scalar(sa.select(sa.func.count()).select_from(BreachFileResult).where(
        BreachFileResult.org_id == profile.org_id, BreachFileResult.email == profile.email.lower(),
        BreachFileResult.password_in_use.is_(True))))
    exposed_passwords = 0
    for key in BREACH_SOURCES:
        result = run_provider(Context(profile.org_id), PROVIDERS[key], Query("email", profile.email.lower()))
        statuses[key] = result.status
        for hit in result.hits:
            if hit.kind == "paste":
                if hit.source != "psbdmp":  # the paste source stores its own rows; linked below
                    record_paste(profile, hit)
                continue
            if hit.kind == "code":
                continue  # stored by the GitHub source itself; linked to the profile below
            level = "critical" if hit.source == "local" and in_use else severity(hit)
            if "passwords" in {c.lower() for c in hit.data_classes}:
                exposed_passwords += 1
            if (hit.source, hit.title.lower()) in known:
                continue
            known.add((hit.source, hit.title.lower()))
            db.session.add(Breach(org_id=profile.org_id, profile_id=profile.id, source=hit.source,
                                  breach_name=hit.title[:255], breach_date=(hit.date or "")[:30] or None,
                                  data_classes=hit.data_classes, severity=level, discovered_at=utcnow()))
    profile.exposed_passwords_count = exposed_passwords
    osint.refresh_devices(profile)  # the hosts the attack-surface scans found at the person's domain
    db.session.execute(sa.update(GithubFinding).where(
        GithubFinding.org_id == profile.org_id, GithubFinding.query_term == profile.email.lower(),
        GithubFinding.profile_id.is_(None)).values(profile_id=profile.id))
    db.session.execute(sa.update(PastebinFinding).where(
        PastebinFinding.org_id == profile.org_id, PastebinFinding.query_term == profile.email.lower(),
        PastebinFinding.profile_id.is_(None)).values(profile_id=profile.id))
    db.session.flush()
    return statuses


def record_paste(profile: Profile, hit) -> None:
    """A paste naming the person (HIBP pastes): a mention for the score, kept once per paste."""
    paste_id = f"{hit.detail or 'paste'}:{hit.title}"[:255]
    exists = db.session.scalar(sa.select(PastebinFinding.id).where(
        PastebinFinding.org_id == profile.org_id, PastebinFinding.paste_id == paste_id))
    if exists is None:
        db.session.add(PastebinFinding(
            org_id=profile.org_id, profile_id=profile.id, paste_id=paste_id, paste_title=hit.title[:255],
            paste_url=hit.url or "", posted_date=hit.date, query_term=profile.email, query_type="email",
            discovered_at=utcnow()))


@dataclass(frozen=True)
class Exposure:
    learns: str
    risk: str
    action: str


def attacker_view(profile: Profile) -> list[Exposure]:
    """What an attacker learns about the person, why it matters and what to do about it."""
    items: list[Exposure] = []
    breaches = db.session.scalars(sa.select(Breach).where(Breach.profile_id == profile.id,
                                                          Breach.deleted_at.is_(None))).all()
    with_passwords = [b for b in breaches if "passwords" in {c.lower() for c in b.data_classes or []}
                      or b.severity == "critical"]
    if with_passwords:
        items.append(Exposure(
            f"Passwords of {profile.email} leaked in {len(with_passwords)} breach(es): "
            + ", ".join(sorted({b.breach_name or '?' for b in with_passwords}))[:300],
            "Credential stuffing: the same or a similar password is tried on company systems.",
            "Change the password everywhere it was reused, require MFA, and check sign-ins since the breach dates."))
    elif breaches:
        items.append(Exposure(f"{profile.email} is in {len(breaches)} breach(es)",
                              "The address is known to be real and reachable: phishing and spam target it.",
                              "Brief the person on phishing; watch the address (monitored e-mails)."))
    if profile.email and not breaches:
        items.append(Exposure(f"The address {profile.email}", "Its format reveals the company's address pattern.",
                              "Nothing urgent; keep it monitored."))
    if profile.company or profile.position:
        items.append(Exposure(
            "Employer and role: " + " / ".join(p for p in (profile.position, profile.company) if p),
            "Spear phishing and pretexting (fake invoices, CEO fraud) aimed at this role.",
            "Role-specific awareness training; verify payment and access requests out of band."))
    socials = db.session.scalars(sa.select(SocialMedia).where(SocialMedia.profile_id == profile.id,
                                                              SocialMedia.deleted_at.is_(None))).all()
    if socials:
        items.append(Exposure(f"Accounts on {', '.join(sorted({s.platform or '?' for s in socials}))}",
                              "Personal details for security questions and convincing pretexts.",
                              "Review what those profiles show publicly; avoid security questions that they answer."))
    if profile.phone:
        items.append(Exposure("A phone number", "SIM swapping and smishing; SMS codes can be intercepted.",
                              "Set a carrier PIN or port-out lock; prefer an authenticator app to SMS codes."))
    mentions = inputs(profile)["mentions"]
    if mentions:
        items.append(Exposure(f"{mentions} mention(s) in public code or pastes",
                              "Secrets or internal details may be in them.",
                              "Review each finding; rotate any credential that appears, even masked."))
    return items
