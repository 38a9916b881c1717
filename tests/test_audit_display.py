"""Audit changes read as words: one before/after list on the admin audit log and the device
Audit tab, never raw JSON or Python reprs (None, True)."""

from __future__ import annotations

import re
from types import SimpleNamespace

from app import audit
from app.core.audit_display import audit_changes, audit_value
from app.models import db
from tests.test_fleet import enrolled


def row(old=None, new=None, details=None):
    return SimpleNamespace(old_values=old, new_values=new, details=details)


def test_values_are_words():
    assert audit_value(None) == "(none)" and audit_value("") == "(none)"
    assert audit_value(True) == "yes" and audit_value(False) == "no"
    assert audit_value(["a", 2, None]) == "a, 2, (none)"
    assert audit_value({"max_age": 30, "enabled": True}) == "max age: 30; enabled: yes"
    assert audit_value(2.50) == "2.5"
    assert audit_value("x" * 500).endswith("…") and len(audit_value("x" * 500)) == 200


def test_changes_list_before_and_after_then_details():
    lines = audit_changes(row(old={"enabled": False, "name": "a", "gone": 1},
                              new={"enabled": True, "name": "a", "mfa_required": None},
                              details={"reason": "policy"}))
    assert [(ln.label, ln.before, ln.after, ln.changed) for ln in lines] == [
        ("enabled", "no", "yes", True),
        ("name", "a", "a", False),
        ("mfa required", None, "(none)", True),
        ("gone", "1", None, True),
        ("reason", None, "policy", False),
    ]
    assert audit_changes(row()) == []


REPRS = re.compile(r"\b(None|True|False)\b|\{&#34;|\{\"")


def test_admin_audit_log_shows_changes_as_a_readable_list(client, orgs):
    audit.record("policy.updated", resource_type="policy", resource_id=1, org_id=orgs.a.org.id,
                 old={"mfa_required": False, "note": None}, new={"mfa_required": True, "note": "all staff"},
                 details={"ip_allow": ["10.0.0.0/8"]}, actor_type="system", actor_label="test")
    db.session.commit()
    client.login(orgs.a.users["admin"].email)
    html = client.get("/admin/audit?action=policy.").get_data(as_text=True)
    cell = html[html.index('class="list-unstyled mb-0 audit-change"'):]
    cell = cell[: cell.index("</ul>")]
    assert '<del class="audit-before">no</del>' in cell and '<ins class="audit-after">yes</ins>' in cell
    assert "(none)</del>" in cell and "all staff</ins>" in cell and "10.0.0.0/8" in cell
    assert "mfa required:" in cell
    assert not REPRS.search(cell), cell
    fragment = client.get("/admin/audit?action=policy.", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert '<ins class="audit-after">yes</ins>' in fragment and "<html" not in fragment


def test_device_audit_tab_uses_the_same_list(client, orgs):
    agent = enrolled(client, orgs.a.org.id, serial="SN-AUD", name="audit-tab")
    audit.record("device.updated", resource_type="device", resource_id=agent["device_id"], org_id=orgs.a.org.id,
                 old={"maintenance": False, "site": None}, new={"maintenance": True, "site": "HQ"},
                 actor_type="system", actor_label="test")
    db.session.commit()
    client.login(orgs.a.users["admin"].email)
    html = client.get(f"/fleet/devices/{agent['device_id']}/tab/audit").get_data(as_text=True)
    table = html[html.index('id="device-audit"'):]
    assert '<del class="audit-before">no</del>' in table and '<ins class="audit-after">HQ</ins>' in table
    assert not REPRS.search(table[: table.index("</table>")])
