"""Audit changes in words: one before/after list for every page that shows audit rows.

The audit log stores JSON (`old_values`, `new_values`, `details`); people should read
"enabled: no → yes", not `{"enabled": true}` or Python's `None`. Templates use the
`audit_changes` and `audit_value` filters through the `audit_change` macro
(templates/_macros/audit.html).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

EMPTY = "(none)"
MAX_TEXT = 200


@dataclass(frozen=True)
class ChangeLine:
    label: str
    before: str | None  # None: the key was not there before (created)
    after: str | None   # None: the key is gone (deleted), or the line is a detail
    changed: bool


def audit_value(value: Any, depth: int = 0) -> str:
    """A stored audit value as plain words: yes/no, (none), lists and mappings inline."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple | set):
        if not value:
            return EMPTY
        return ", ".join(audit_value(v, depth + 1) for v in value) if depth < 2 else f"{len(value)} items"
    if isinstance(value, dict):
        if not value:
            return EMPTY
        if depth >= 2:
            return f"{len(value)} fields"
        return "; ".join(f"{label_of(k)}: {audit_value(v, depth + 1)}" for k, v in value.items())
    text = str(value)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def label_of(key: Any) -> str:
    return str(key).replace("_", " ")


def audit_changes(row: Any) -> list[ChangeLine]:
    """The lines of one audit row: changed fields first (before → after), then details."""
    old, new = row.old_values or {}, row.new_values or {}
    if not isinstance(old, dict):
        old = {"value": old}
    if not isinstance(new, dict):
        new = {"value": new}
    lines = []
    for key in list(new) + [k for k in old if k not in new]:
        before = audit_value(old[key]) if key in old else None
        after = audit_value(new[key]) if key in new else None
        changed = key not in old or key not in new or old[key] != new[key]
        lines.append(ChangeLine(label_of(key), before, after, changed=changed))
    details = row.details or {}
    if not isinstance(details, dict):
        details = {"details": details}
    lines += [ChangeLine(label_of(k), None, audit_value(v), changed=False) for k, v in details.items()]
    return lines
