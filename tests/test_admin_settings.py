"""Admin: platform settings (typed registry, defaults, validation, who changed what)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.core.settings_registry import SETTINGS, get_setting
from app.exposure.keys import HMAC_SETTING, password_hmac_key
from app.models import AuditLog, Setting, db


def audit_rows(key: str) -> list[AuditLog]:
    return db.session.scalars(sa.select(AuditLog).where(
        AuditLog.action == "setting.updated", AuditLog.resource_id == key).order_by(AuditLog.id)).all()


def test_defaults_match_the_configuration_they_will_replace(app):
    assert SETTINGS["security.lockout_threshold"].default == app.config["LOCKOUT_THRESHOLD"]
    assert SETTINGS["security.lockout_window_minutes"].default == app.config["LOCKOUT_WINDOW_MINUTES"]
    assert SETTINGS["security.lockout_minutes"].default == app.config["LOCKOUT_MINUTES"]
    assert SETTINGS["security.session_hours"].default == app.config["SESSION_HOURS"]
    assert SETTINGS["notifications.max_failures"].default == app.config["NOTIFY_MAX_FAILURES"]


def test_get_setting_gives_the_default_until_a_value_is_stored(db_session):
    assert get_setting("security.lockout_threshold") == 5
    assert get_setting("ui.default_theme") == "auto"
    db.session.add(Setting(key="security.lockout_threshold", value=9))
    db.session.flush()
    assert get_setting("security.lockout_threshold") == 9
    with pytest.raises(KeyError):
        get_setting("no.such.setting")


def test_a_stored_value_that_breaks_the_rule_falls_back_to_the_default(db_session):
    db.session.add(Setting(key="security.lockout_threshold", value="lots"))
    db.session.add(Setting(key="ui.default_theme", value="neon"))
    db.session.flush()
    assert get_setting("security.lockout_threshold") == 5
    assert get_setting("ui.default_theme") == "auto"


def test_list_shows_every_known_setting_with_default_or_value(client, orgs):
    db.session.add(Setting(key="legacy.flag", value=True))
    db.session.commit()
    client.login(orgs.super_admin.email)
    html = client.get("/admin/settings").get_data(as_text=True)
    for key in SETTINGS:
        assert f'data-key="{key}"' in html
    assert html.count(">default</span>") == len(SETTINGS)
    assert "legacy.flag" in html  # unknown stored keys are listed apart


def test_super_admin_changes_a_setting_and_it_is_audited(client, orgs):
    root = orgs.super_admin
    client.login(root.email)
    page = client.get("/admin/settings/security.lockout_threshold").get_data(as_text=True)
    assert 'value="5"' in page and "A whole number from 1 to 50." in page
    response = client.post("/admin/settings/security.lockout_threshold", data={"value": " 8 "})
    assert response.status_code == 303
    row = db.session.get(Setting, "security.lockout_threshold")
    assert row.value == 8 and row.updated_by_id == root.id and row.updated_by == root.email
    assert row.description == SETTINGS["security.lockout_threshold"].description
    assert get_setting("security.lockout_threshold") == 8
    [entry] = audit_rows("security.lockout_threshold")
    assert entry.old_values == {"value": 5} and entry.new_values == {"value": 8}
    assert entry.resource_type == "setting" and entry.user_id == root.id
    listing = client.get("/admin/settings").get_data(as_text=True)
    line = listing.split('data-key="security.lockout_threshold"')[1].split("</tr>")[0]
    assert "<span data-value>8</span>" in line and root.email in line and ">default<" not in line


def test_choice_settings_are_offered_as_a_select(client, orgs):
    client.login(orgs.super_admin.email)
    page = client.get("/admin/settings/ui.default_theme").get_data(as_text=True)
    assert '<select' in page and 'value="dark"' in page
    assert client.post("/admin/settings/ui.default_theme", data={"value": "dark"}).status_code == 303
    assert get_setting("ui.default_theme") == "dark"
    [entry] = audit_rows("ui.default_theme")
    assert entry.old_values == {"value": "auto"} and entry.new_values == {"value": "dark"}


@pytest.mark.parametrize(("key", "value", "message"), [
    ("security.lockout_threshold", "abc", "Enter a whole number."),
    ("security.lockout_threshold", "0", "Enter a number from 1 to 50."),
    ("security.lockout_threshold", "51", "Enter a number from 1 to 50."),
    ("security.session_hours", "", "Enter a whole number."),
    ("ui.default_theme", "purple", "Not a valid choice"),
])
def test_invalid_values_come_back_with_a_clear_error(client, orgs, key, value, message):
    client.login(orgs.super_admin.email)
    response = client.post(f"/admin/settings/{key}", data={"value": value})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.get(Setting, key) is None and audit_rows(key) == []


def test_htmx_errors_return_the_form_fragment(client, orgs):
    client.login(orgs.super_admin.email)
    response = client.post("/admin/settings/security.lockout_minutes", data={"value": "-3"},
                           headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" not in html and "Enter a number from 1 to 1440." in html


def test_saving_the_value_already_in_effect_changes_nothing(client, orgs):
    client.login(orgs.super_admin.email)
    assert client.post("/admin/settings/security.lockout_minutes", data={"value": "30"}).status_code == 303
    assert db.session.get(Setting, "security.lockout_minutes") is None and audit_rows("security.lockout_minutes") == []


def test_unknown_keys_are_404(client, orgs):
    client.login(orgs.super_admin.email)
    assert client.get("/admin/settings/no.such.key").status_code == 404
    assert client.post("/admin/settings/no.such.key", data={"value": "1"}).status_code == 404


def test_only_super_admins_manage_settings(client, orgs):
    client.login(orgs.a.users["admin"].email)
    assert client.get("/admin/settings").status_code == 403
    assert client.get("/admin/settings/security.lockout_threshold").status_code == 403
    assert client.post("/admin/settings/security.lockout_threshold", data={"value": "7"}).status_code == 403
    assert db.session.get(Setting, "security.lockout_threshold") is None


def test_keys_vigil_keeps_for_itself_are_listed_apart_and_never_by_value(client, orgs):
    key = password_hmac_key()  # pins the sealed key as a settings row
    db.session.add(Setting(key="legacy.thing", value=5))
    db.session.flush()
    client.login(orgs.super_admin.email)
    page = client.get("/admin/settings").get_data(as_text=True)
    kept, _, unknown = page.partition("Stored keys Vigil does not know")
    assert HMAC_SETTING in kept.split("Kept by Vigil", 1)[1]
    assert HMAC_SETTING not in unknown and "legacy.thing" in unknown
    sealed = db.session.get(Setting, HMAC_SETTING).value["sealed"]
    assert sealed not in page and key.hex() not in page
