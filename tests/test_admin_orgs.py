"""Admin: organizations (super admins manage all; an admin edits only its own)."""

from __future__ import annotations

import sqlalchemy as sa

from app.admin import services
from app.auth.services import INACTIVE_MESSAGE
from app.models import AuditLog, Organization, db
from tests import factories
from tests.tenancy import assert_other_org_cannot_reach

VALID = {
    "name": "Acme Corp", "slug": "acme-corp", "type": "customer", "primary_domain": "Acme.com",
    "domains": "acme.io, ACME.net, acme.io,  ", "billing_email": "Billing@Acme.com", "technical_email": "",
    "phone": "+33 1 23", "address_line1": "1 rue X", "city": "Paris", "postal_code": "75001", "country": "fr",
    "subscription_tier": "professional", "max_seats": "25", "notes": "VIP", "tags": "retail, eu, retail",
}


def audit_rows(action: str, resource_id=None) -> list[AuditLog]:
    stmt = sa.select(AuditLog).where(AuditLog.action == action)
    if resource_id is not None:
        stmt = stmt.where(AuditLog.resource_id == str(resource_id))
    return db.session.scalars(stmt.order_by(AuditLog.id)).all()


def org_by_slug(slug: str) -> Organization | None:
    return db.session.scalar(sa.select(Organization).where(Organization.slug == slug))


def test_super_admin_lists_every_live_organization(client, orgs):
    client.login(orgs.super_admin.email)
    html = client.get("/admin/orgs").get_data(as_text=True)
    assert orgs.a.org.name in html and orgs.b.org.name in html
    fragment = client.get("/admin/orgs?q=Org+B", headers={"HX-Request": "true"})
    text = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in text
    assert f'data-org-id="{orgs.b.org.id}"' in text and f'data-org-id="{orgs.a.org.id}"' not in text


def test_super_admin_creates_an_organization_with_normalised_values(client, orgs):
    client.login(orgs.super_admin.email)
    assert client.get("/admin/orgs/new").status_code == 200
    response = client.post("/admin/orgs/new", data=VALID)
    assert response.status_code == 303, response.get_data(as_text=True)
    org = org_by_slug("acme-corp")
    assert org.primary_domain == "acme.com" and org.domains == ["acme.io", "acme.net"]
    assert org.billing_email == "billing@acme.com" and org.technical_email is None
    assert org.country == "FR" and org.subscription_tier == "professional" and org.max_seats == 25
    assert org.tags == ["retail", "eu"]
    [row] = audit_rows("org.created", org.id)
    assert row.org_id == org.id and row.user_id == orgs.super_admin.id and row.old_values is None
    assert row.new_values["slug"] == "acme-corp" and row.new_values["domains"] == ["acme.io", "acme.net"]


def test_invalid_organization_comes_back_with_field_errors(client, orgs):
    client.login(orgs.super_admin.email)
    bad = {**VALID, "slug": "Bad Slug!", "domains": "acme.io, not a domain, -x.com", "country": "FRA",
           "primary_domain": "localhost", "billing_email": "nope", "max_seats": "0", "subscription_tier": "gold"}
    response = client.post("/admin/orgs/new", data=bad)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Use lowercase letters, digits and single hyphens" in html
    assert "Not a domain name: not a domain, -x.com." in html
    assert "Use the two-letter country code" in html
    assert "Enter a domain name such as example.com." in html
    assert "Enter a valid email address." in html
    assert "Between 1 and 100000 seats." in html
    assert "Not a valid choice" in html
    assert db.session.scalar(sa.select(sa.func.count(Organization.id)).where(Organization.name == "Acme Corp")) == 0
    assert audit_rows("org.created") == []


def test_slug_is_unique_even_against_deleted_organizations(client, orgs):
    client.login(orgs.super_admin.email)
    taken = client.post("/admin/orgs/new", data={**VALID, "slug": orgs.a.org.slug})
    assert taken.status_code == 422 and "Another organization already uses this slug." in taken.get_data(as_text=True)
    gone = factories.org(slug="gone-org")
    gone.soft_delete()
    db.session.commit()
    held = client.post("/admin/orgs/new", data={**VALID, "slug": "gone-org"})
    assert held.status_code == 422 and "A deleted organization still holds this slug" in held.get_data(as_text=True)


def test_a_slug_race_is_a_field_error_not_a_500(db_session, orgs):
    """Two super admins saving the same slug at once: the constraint answers, the service explains."""
    try:
        services.create_org({"name": "Dup", "slug": orgs.a.org.slug})
    except services.RuleError as err:
        assert err.field == "slug" and "already uses this slug" in err.message
    else:
        raise AssertionError("duplicate slug was accepted")


def test_super_admin_edit_audits_only_the_changed_fields(client, orgs):
    client.login(orgs.super_admin.email)
    org = orgs.b.org
    page = client.get(f"/admin/orgs/{org.id}").get_data(as_text=True)
    assert 'name="slug"' in page and 'name="subscription_tier"' in page
    data = {**VALID, "name": "Org B renamed", "slug": org.slug, "subscription_tier": "enterprise", "tags": "",
            "domains": ""}
    response = client.post(f"/admin/orgs/{org.id}", data=data)
    assert response.status_code == 303
    db.session.refresh(org)
    assert org.name == "Org B renamed" and org.subscription_tier == "enterprise" and org.tags == []
    [row] = audit_rows("org.updated", org.id)
    assert row.old_values["name"] == "Org B" and row.new_values["name"] == "Org B renamed"
    assert row.old_values["subscription_tier"] == "basic" and row.new_values["subscription_tier"] == "enterprise"
    assert "slug" not in row.new_values  # unchanged fields are not listed
    again = client.post(f"/admin/orgs/{org.id}", data=data)
    assert again.status_code == 303 and len(audit_rows("org.updated", org.id)) == 1  # no change, no row


def test_htmx_edit_returns_the_form_fragment_on_errors_and_redirects_on_success(client, orgs):
    client.login(orgs.super_admin.email)
    org = orgs.b.org
    headers = {"HX-Request": "true"}
    bad = client.post(f"/admin/orgs/{org.id}", data={**VALID, "name": ""}, headers=headers)
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert "<html" not in html and "This field is required." in html
    good = client.post(f"/admin/orgs/{org.id}", data={**VALID, "slug": org.slug}, headers=headers)
    assert good.status_code == 204 and good.headers["HX-Redirect"] == "/admin/orgs"


def test_admin_is_sent_to_its_own_organization_and_cannot_change_restricted_fields(client, orgs):
    admin = orgs.a.users["admin"]
    org = orgs.a.org
    client.login(admin.email)
    response = client.get("/admin/orgs")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/admin/orgs/{org.id}")
    page = client.get(f"/admin/orgs/{org.id}").get_data(as_text=True)
    assert 'name="name"' in page
    for restricted in ("slug", "type", "subscription_tier", "max_seats"):
        assert f'name="{restricted}"' not in page
    posted = {**VALID, "name": "Org A (ours)", "slug": "stolen", "type": "internal",
              "subscription_tier": "enterprise", "max_seats": "9999"}
    assert client.post(f"/admin/orgs/{org.id}", data=posted).status_code == 303
    db.session.refresh(org)
    assert org.name == "Org A (ours)"
    assert (org.slug, org.type, org.subscription_tier, org.max_seats) != ("stolen", "internal", "enterprise", 9999)
    assert org.subscription_tier == "basic" and org.max_seats == 10 and org.type == "customer"
    [row] = audit_rows("org.updated", org.id)
    assert set(row.new_values) >= {"name"} and not {"slug", "type", "subscription_tier", "max_seats"} & set(row.new_values)


def test_admin_cannot_reach_another_organization_or_create_and_delete(client, orgs):
    client.login(orgs.a.users["admin"].email)
    assert_other_org_cannot_reach(client, [
        ("GET", f"/admin/orgs/{orgs.b.org.id}"), ("POST", f"/admin/orgs/{orgs.b.org.id}"),
    ], data=VALID)
    assert client.get("/admin/orgs/new").status_code == 403
    assert client.post("/admin/orgs/new", data=VALID).status_code == 403
    assert client.post(f"/admin/orgs/{orgs.a.org.id}/delete").status_code == 403
    assert org_by_slug("acme-corp") is None and orgs.a.org.deleted_at is None


def test_roles_without_org_permissions_are_refused(client, orgs):
    client.login(orgs.a.users["analyst"].email)
    assert client.get("/admin/orgs").status_code == 403
    assert client.get(f"/admin/orgs/{orgs.a.org.id}").status_code == 403
    assert client.post(f"/admin/orgs/{orgs.a.org.id}", data=VALID).status_code == 403


def test_soft_delete_hides_the_organization_and_locks_its_users_out(client, app, orgs):
    victim = orgs.b.users["analyst"]
    member = app.test_client()
    assert member.login(victim.email).status_code == 303
    assert member.get("/").status_code == 200

    client.login(orgs.super_admin.email)
    response = client.post(f"/admin/orgs/{orgs.b.org.id}/delete")
    assert response.status_code == 303
    db.session.refresh(orgs.b.org)
    assert orgs.b.org.deleted_at is not None
    [row] = audit_rows("org.deleted", orgs.b.org.id)
    assert row.old_values == {"deleted_at": None} and row.new_values["deleted_at"]

    listing = client.get("/admin/orgs").get_data(as_text=True)
    assert f'data-org-id="{orgs.b.org.id}"' not in listing and f'data-org-id="{orgs.a.org.id}"' in listing
    dashboard = client.get("/").get_data(as_text=True)
    assert f'<option value="{orgs.b.org.id}"' not in dashboard and f'<option value="{orgs.a.org.id}"' in dashboard
    assert client.get(f"/admin/orgs/{orgs.b.org.id}").status_code == 404
    assert client.post(f"/admin/orgs/{orgs.b.org.id}/delete").status_code == 404
    assert client.post("/org/switch", data={"org_id": orgs.b.org.id}).status_code == 404

    # The member's live session stops working, and signing in again is refused.
    assert member.get("/").status_code == 302
    fresh = app.test_client()
    refused = fresh.login(victim.email)
    assert refused.status_code == 422 and INACTIVE_MESSAGE in refused.get_data(as_text=True)


def test_a_super_admin_acting_in_a_deleted_organization_falls_back_to_a_live_one(client, orgs):
    client.login(orgs.super_admin.email)
    assert client.post("/org/switch", data={"org_id": orgs.b.org.id}).status_code == 303
    assert orgs.b.site.name in client.get("/admin/sites").get_data(as_text=True)
    orgs.b.org.soft_delete()  # deleted elsewhere (another super admin's session)
    db.session.commit()
    html = client.get("/admin/sites").get_data(as_text=True)
    assert orgs.b.site.name not in html and orgs.a.site.name in html
