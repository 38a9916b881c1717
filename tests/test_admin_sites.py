"""Admin: sites of the current organization (scoped, slug unique per org, IP and CIDR checked)."""

from __future__ import annotations

import sqlalchemy as sa

from app.admin import services
from app.models import AuditLog, Site, db
from tests import factories
from tests.tenancy import assert_other_org_cannot_reach

VALID = {
    "name": "Lyon office", "slug": "lyon", "public_ip": "203.0.113.7", "lan_subnet": "10.20.0.0/16",
    "city": "Lyon", "country": "fr", "site_contact_name": "Marie", "site_contact_email": "Marie@Example.test",
    "tags": "branch, eu", "notes": "",
}


def audit_rows(action: str, resource_id=None) -> list[AuditLog]:
    stmt = sa.select(AuditLog).where(AuditLog.action == action)
    if resource_id is not None:
        stmt = stmt.where(AuditLog.resource_id == str(resource_id))
    return db.session.scalars(stmt.order_by(AuditLog.id)).all()


def site_in(org_id: int, slug: str) -> Site | None:
    return db.session.scalar(sa.select(Site).where(Site.org_id == org_id, Site.slug == slug))


def test_every_role_lists_its_own_organizations_sites_only(client, orgs):
    client.login(orgs.a.users["read_only"].email)
    response = client.get("/admin/sites")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'data-site-id="{orgs.a.site.id}"' in html and f'data-site-id="{orgs.b.site.id}"' not in html
    assert "/admin/sites/new" not in html  # read-only users are not offered changes


def test_search_returns_the_table_fragment_for_htmx(client, orgs):
    factories.site(orgs.a.org.id, name="Berlin depot", slug="berlin", city="Berlin")
    db.session.commit()
    client.login(orgs.a.users["analyst"].email)
    response = client.get("/admin/sites?q=berl", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert "Berlin depot" in html and orgs.a.site.name not in html


def test_roles_without_site_manage_are_refused(client, orgs):
    client.login(orgs.a.users["operator"].email)
    assert client.get("/admin/sites/new").status_code == 403
    assert client.post("/admin/sites/new", data=VALID).status_code == 403
    assert client.get(f"/admin/sites/{orgs.a.site.id}").status_code == 403
    assert client.post(f"/admin/sites/{orgs.a.site.id}/delete").status_code == 403
    assert site_in(orgs.a.org.id, "lyon") is None
    db.session.refresh(orgs.a.site)
    assert orgs.a.site.deleted_at is None


def test_admin_adds_a_site_with_normalised_values_and_an_audit_row(client, orgs):
    client.login(orgs.a.users["admin"].email)
    response = client.post("/admin/sites/new", data={**VALID, "public_ip": "2001:DB8::0:1", "lan_subnet": "fd00::/8"})
    assert response.status_code == 303, response.get_data(as_text=True)
    site = site_in(orgs.a.org.id, "lyon")
    assert site.public_ip == "2001:db8::1" and site.lan_subnet == "fd00::/8"
    assert site.country == "FR" and site.site_contact_email == "marie@example.test" and site.tags == ["branch", "eu"]
    [row] = audit_rows("site.created", site.id)
    assert row.org_id == orgs.a.org.id and row.new_values["slug"] == "lyon" and row.old_values is None


def test_invalid_addresses_and_slug_come_back_with_messages(client, orgs):
    client.login(orgs.a.users["admin"].email)
    cases = {
        "public_ip": ("300.1.1.1", "Enter an IPv4 or IPv6 address"),
        "lan_subnet": ("10.20.0.0", "Write the network with its prefix length"),
        "slug": ("Lyon Office", "Use lowercase letters, digits and single hyphens"),
        "country": ("France", "Use the two-letter country code"),
        "site_contact_email": ("marie@", "Enter a valid email address."),
    }
    for field, (value, message) in cases.items():
        response = client.post("/admin/sites/new", data={**VALID, field: value})
        assert response.status_code == 422, field
        assert message in response.get_data(as_text=True), field
    host_bits = client.post("/admin/sites/new", data={**VALID, "lan_subnet": "10.20.1.5/16"})
    assert host_bits.status_code == 422 and "did you mean 10.20.0.0/16?" in host_bits.get_data(as_text=True)
    not_a_net = client.post("/admin/sites/new", data={**VALID, "lan_subnet": "10.20.0.0/40"})
    assert not_a_net.status_code == 422 and "Enter a CIDR network" in not_a_net.get_data(as_text=True)
    assert site_in(orgs.a.org.id, "lyon") is None and audit_rows("site.created") == []


def test_slug_is_unique_per_organization_with_a_clear_message(client, orgs):
    factories.site(orgs.b.org.id, slug="lyon")  # another org may use the same slug
    db.session.commit()
    client.login(orgs.a.users["admin"].email)
    assert client.post("/admin/sites/new", data=VALID).status_code == 303
    again = client.post("/admin/sites/new", data={**VALID, "name": "Second Lyon"})
    assert again.status_code == 422
    assert "Another site of this organization already uses this slug." in again.get_data(as_text=True)
    other = factories.site(orgs.a.org.id, slug="paris")
    db.session.commit()
    rename = client.post(f"/admin/sites/{other.id}", data={**VALID, "name": "Paris"})  # slug lyon again
    assert rename.status_code == 422 and "already uses this slug" in rename.get_data(as_text=True)


def test_a_slug_race_becomes_a_field_error(db_session, orgs):
    """The form check passed for both admins; the constraint catches the second, as a field error."""
    try:
        services.create_site(orgs.a.org.id, {"name": "Dup", "slug": orgs.a.site.slug})
    except services.RuleError as err:
        assert err.field == "slug"
    else:
        raise AssertionError("duplicate slug was accepted")
    db.session.rollback()


def test_edit_audits_old_and_new_values(client, orgs):
    site = orgs.a.site
    client.login(orgs.a.users["admin"].email)
    page = client.get(f"/admin/sites/{site.id}").get_data(as_text=True)
    assert f'value="{site.slug}"' in page
    response = client.post(f"/admin/sites/{site.id}", data={**VALID, "slug": site.slug, "name": "HQ"})
    assert response.status_code == 303
    db.session.refresh(site)
    assert site.name == "HQ" and site.lan_subnet == "10.20.0.0/16"
    [row] = audit_rows("site.updated", site.id)
    assert row.old_values["name"] == "Site A" and row.new_values["name"] == "HQ"
    assert row.old_values["lan_subnet"] is None and row.new_values["lan_subnet"] == "10.20.0.0/16"
    assert "slug" not in row.new_values


def test_delete_is_soft_and_hides_the_site(client, orgs):
    site = orgs.a.site
    client.login(orgs.a.users["admin"].email)
    assert client.post(f"/admin/sites/{site.id}/delete").status_code == 303
    db.session.refresh(site)
    assert site.deleted_at is not None
    [row] = audit_rows("site.deleted", site.id)
    assert row.old_values == {"deleted_at": None} and row.new_values["deleted_at"]
    assert f'data-site-id="{site.id}"' not in client.get("/admin/sites").get_data(as_text=True)
    assert client.get(f"/admin/sites/{site.id}").status_code == 404
    assert client.post(f"/admin/sites/{site.id}/delete").status_code == 404
    held = client.post("/admin/sites/new", data={**VALID, "slug": site.slug})
    assert held.status_code == 422 and "A deleted site of this organization still holds this slug" in held.get_data(as_text=True)


def test_another_organizations_site_is_404(client, orgs):
    client.login(orgs.a.users["admin"].email)
    site = orgs.b.site
    assert_other_org_cannot_reach(client, [
        ("GET", f"/admin/sites/{site.id}"), ("POST", f"/admin/sites/{site.id}"),
        ("POST", f"/admin/sites/{site.id}/delete"),
    ], data={**VALID, "slug": site.slug})
    db.session.refresh(site)
    assert site.deleted_at is None and site.name == "Site B"


def test_super_admin_manages_the_sites_of_the_organization_it_works_in(client, orgs):
    client.login(orgs.super_admin.email)
    client.post("/org/switch", data={"org_id": orgs.b.org.id})
    assert client.post("/admin/sites/new", data=VALID).status_code == 303
    assert site_in(orgs.b.org.id, "lyon") is not None and site_in(orgs.a.org.id, "lyon") is None
    assert client.get(f"/admin/sites/{orgs.a.site.id}").status_code == 404
