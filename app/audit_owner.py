"""A separate PostgreSQL owner for the audit log (issue 11.9).

By default the application's role owns every table, so it could `ALTER TABLE audit_log
DISABLE TRIGGER` or drop the append-only trigger and then delete rows. Handing the table,
its sequence and the trigger function to an owner role that does not log in leaves the
application role with SELECT and INSERT only: PostgreSQL refuses it ALTER, DROP, UPDATE,
DELETE and TRUNCATE. Run by a superuser (or a role that is a member of both roles).
"""

from __future__ import annotations

import re

import sqlalchemy as sa

ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def quoted(name: str) -> str:
    """A role name as an SQL identifier (only plain lower-case names are accepted)."""
    if not ROLE_NAME.match(name):
        raise ValueError(f"{name!r} is not a plain role name (lower-case letters, digits, _)")
    return f'"{name}"'


def owner_role_statements(owner: str, app_role: str) -> list[str]:
    """The SQL, in order; each statement is safe to run again."""
    o, a = quoted(owner), quoted(app_role)
    return [
        f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{owner}') "
        f"THEN CREATE ROLE {o} NOLOGIN; END IF; END $$",
        f"ALTER TABLE audit_log OWNER TO {o}",  # its id sequence follows the table
        f"ALTER FUNCTION audit_log_refuse_change() OWNER TO {o}",
        f"REVOKE ALL ON audit_log FROM {a}",
        f"GRANT SELECT, INSERT ON audit_log TO {a}",
        f"GRANT USAGE, SELECT ON SEQUENCE audit_log_id_seq TO {a}",
    ]


def apply_owner_role(connection: sa.Connection, owner: str, app_role: str) -> None:
    """Run the statements on `connection` (the caller commits)."""
    if connection.dialect.name != "postgresql":
        raise ValueError("a separate owner role needs PostgreSQL (SQLite has no roles)")
    if owner == app_role:
        raise ValueError("the owner role must differ from the application's role")
    for statement in owner_role_statements(owner, app_role):
        connection.execute(sa.text(statement))
