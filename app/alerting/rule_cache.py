"""Alert rules served from a per-process cache, invalidated by a version counter.

Every flush that adds, changes or deletes an AlertRule bumps the counter of the rule's
scope (alert_rule_versions: 0 for global rules, else the organization's id) in the same
transaction, so the bump becomes visible exactly when the change commits. A hot path
(heartbeat ingest) reads the counters of its organization's scopes in the statement it
runs anyway, and keeps the rules it loaded for that version: a rule change takes effect
on the next request after its commit, in every process, without a query per request.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.models import AlertRule, AlertRuleVersion, db

GLOBAL_SCOPE = 0
CACHE_SIZE = 10_000  # organizations


@dataclass(frozen=True)
class CachedRule:
    """The parts of an AlertRule an evaluator and the state machine read (detached from any session)."""

    id: int
    org_id: int | None
    device_id: int | None
    domain: str
    rule_type: str
    threshold_value: float | None
    recovery_value: float | None
    direction: str
    threshold_duration_seconds: int
    cooldown_seconds: int
    repeat_interval_seconds: int | None
    severity: str
    notify: bool
    params: dict[str, Any]

    @classmethod
    def of(cls, rule: AlertRule) -> CachedRule:
        return cls(rule.id, rule.org_id, rule.device_id, rule.domain, rule.rule_type, rule.threshold_value,
                   rule.recovery_value, rule.direction, rule.threshold_duration_seconds, rule.cooldown_seconds,
                   rule.repeat_interval_seconds, rule.severity, rule.notify, dict(rule.params or {}))


def scope_of(org_id: int | None) -> int:
    return org_id if org_id is not None else GLOBAL_SCOPE


def bump(connection: sa.Connection, scopes: set[int]) -> None:
    """Add one to each scope's counter (creating it), in the caller's transaction."""
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    table = AlertRuleVersion.__table__
    for scope in sorted(scopes):  # a fixed order: two transactions bumping the same scopes do not deadlock
        stmt = insert(table).values(scope=scope, version=1)
        connection.execute(stmt.on_conflict_do_update(index_elements=["scope"],
                                                      set_={"version": table.c.version + 1}))


def _changed_scopes(session: Session) -> set[int]:
    scopes: set[int] = set()
    for obj in (*session.new, *session.deleted):
        if isinstance(obj, AlertRule):
            scopes.add(scope_of(obj.org_id))
    for obj in session.dirty:
        if isinstance(obj, AlertRule) and session.is_modified(obj):
            scopes.add(scope_of(obj.org_id))
            # A rule moved to another scope leaves its old one changed too.
            scopes.update(scope_of(old) for old in sa.inspect(obj).attrs.org_id.history.deleted or ())
    return scopes


@sa.event.listens_for(Session, "before_flush")
def _note_rule_changes(session: Session, flush_context: Any, instances: Any) -> None:
    """Remember which scopes this flush changes (the sets are gone after the flush)."""
    scopes = _changed_scopes(session)
    if scopes:
        session.info.setdefault("alert_rule_scopes", set()).update(scopes)


@sa.event.listens_for(Session, "after_flush")
def _bump_versions(session: Session, flush_context: Any) -> None:
    """Bump the changed scopes' counters in the flush's own transaction."""
    scopes = session.info.pop("alert_rule_scopes", None)
    if scopes:
        bump(session.connection(), scopes)


def version_of(org_id: int) -> int:
    """The organization's rules version: the sum of its own and the global counter (both only grow)."""
    return int(db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(AlertRuleVersion.version), 0))
                                 .where(AlertRuleVersion.scope.in_((GLOBAL_SCOPE, org_id)))) or 0)


class RuleCache:
    """Per organization: the enabled rules of its scope (global, its own, its devices') as of a
    version. Shared by a process's threads; least recently used organizations drop out."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self.entries: OrderedDict[int, tuple[int, tuple[CachedRule, ...]]] = OrderedDict()
        self.lock = threading.Lock()

    def rules(self, org_id: int, version: int) -> tuple[CachedRule, ...]:
        """The organization's enabled rules; loaded again when `version` (read by the caller from
        the database, before this call) differs from the cached one."""
        with self.lock:
            found = self.entries.get(org_id)
            if found is not None and found[0] == version:
                self.entries.move_to_end(org_id)
                return found[1]
        # Loaded after the caller read `version`: at worst newer than it, and then the next
        # request sees a newer version and loads again. Never older.
        loaded = tuple(CachedRule.of(rule) for rule in db.session.scalars(
            sa.select(AlertRule).where(AlertRule.enabled.is_(True),
                                       sa.or_(sa.and_(AlertRule.org_id.is_(None), AlertRule.device_id.is_(None)),
                                              AlertRule.org_id == org_id))
            .order_by(AlertRule.id)))
        with self.lock:
            self.entries[org_id] = (version, loaded)
            self.entries.move_to_end(org_id)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)
        return loaded

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


rules_cache = RuleCache()
