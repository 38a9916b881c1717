"""Per-organization keys for the outside services of the wireless domain (WiGLE and the
online geocoders), sealed with app/crypto.py in `provider_credentials`.

A stored secret is decrypted only when a request is about to be sent; pages show whether a
key is set and when it was last changed or tested, never the key itself, and audit rows
name the provider and the API name only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from app import audit, crypto
from app.models import ProviderCredential, db, utcnow


@dataclass(frozen=True)
class ProviderSpec:
    key: str
    label: str
    needs_secret: bool
    name_label: str | None  # what api_name holds for this provider, None: not used
    secret_label: str
    help: str


PROVIDERS: dict[str, ProviderSpec] = {
    spec.key: spec
    for spec in (
        ProviderSpec("wigle", "WiGLE", True, "API name", "API token",
                     "From your WiGLE account page (Show my token): the 'API Name' and 'API Token'."),
        ProviderSpec("nominatim", "Nominatim (OpenStreetMap)", False, "Contact e-mail", "Key (unused)",
                     "No key; the usage policy asks for a contact e-mail and at most one request a second."),
        ProviderSpec("opencage", "OpenCage", True, None, "API key",
                     "Reverse geocoding with a daily quota (free trial: 2,500 a day)."),
        ProviderSpec("locationiq", "LocationIQ", True, None, "Access token",
                     "Nominatim-shaped answers with a daily quota per token."),
        ProviderSpec("overpass", "Overpass (venue names)", False, None, "Key (unused)",
                     "Names of the shops, offices and venues near a position, from OpenStreetMap."),
    )
}


class CredentialError(ValueError):
    """A credential that cannot be saved as given (message is for the form)."""


def get_credential(org_id: int, provider: str) -> ProviderCredential | None:
    return db.session.scalar(sa.select(ProviderCredential).where(
        ProviderCredential.org_id == org_id, ProviderCredential.provider == provider))


def org_credentials(org_id: int) -> dict[str, ProviderCredential]:
    rows = db.session.scalars(sa.select(ProviderCredential).where(ProviderCredential.org_id == org_id))
    return {row.provider: row for row in rows}


def open_secret(org_id: int, provider: str) -> tuple[str | None, str] | None:
    """(api_name, secret) of the organization's credential, decrypted; None when not set."""
    row = get_credential(org_id, provider)
    if row is None:
        return None
    return row.api_name, crypto.decrypt_text(row.secret_encrypted)


def set_credential(org_id: int, provider: str, *, api_name: str | None, secret: str | None,
                   actor: Any = None, actor_label: str | None = None) -> ProviderCredential:
    """Create or replace a credential; a blank secret keeps the stored one (renaming only)."""
    spec = PROVIDERS.get(provider)
    if spec is None:
        raise CredentialError("Unknown provider.")
    api_name = (api_name or "").strip() or None
    secret = (secret or "").strip()
    if spec.name_label and provider == "wigle" and not api_name:
        raise CredentialError(f"Enter the {spec.name_label}.")
    if provider == "nominatim" and (not api_name or "@" not in api_name):
        raise CredentialError("Enter a contact e-mail (Nominatim's usage policy asks for one).")
    row = get_credential(org_id, provider)
    if spec.needs_secret and not secret and row is None:
        raise CredentialError(f"Enter the {spec.secret_label}.")
    if len(secret) > 500 or (api_name and len(api_name) > 200):
        raise CredentialError("That value is too long.")
    created = row is None
    if created:
        row = ProviderCredential(org_id=org_id, provider=provider, options={})
        db.session.add(row)
    secret_changed = bool(secret) or created
    if secret_changed:
        row.secret_encrypted = crypto.encrypt_text(secret)
    old_name = None if created else row.api_name
    row.api_name = api_name
    row.updated_at = utcnow()
    row.updated_by_id = getattr(actor, "id", None)
    # A new key has not been tested yet.
    if secret_changed:
        row.options = {k: v for k, v in (row.options or {}).items() if k != "last_test"}
    db.session.flush()
    audit.record("wireless.credential_set", resource_type="provider_credential", resource_id=row.id,
                 org_id=org_id, actor=actor, actor_label=actor_label,
                 old=None if created else {"api_name": old_name},
                 new={"provider": provider, "api_name": api_name, "secret_changed": secret_changed})
    return row


def clear_credential(org_id: int, provider: str, *, actor: Any = None, actor_label: str | None = None) -> bool:
    """Delete the organization's credential for `provider`; False when there was none."""
    row = get_credential(org_id, provider)
    if row is None:
        return False
    row_id = row.id
    db.session.delete(row)
    db.session.flush()
    audit.record("wireless.credential_cleared", resource_type="provider_credential", resource_id=row_id,
                 org_id=org_id, actor=actor, actor_label=actor_label, old={"provider": provider})
    return True


def record_test(row: ProviderCredential, ok: bool, message: str, *, actor: Any = None) -> None:
    """Keep the outcome of a credential test on the row, and audit it."""
    row.options = {**(row.options or {}), "last_test": {"ok": ok, "message": message[:300],
                                                       "at": utcnow().isoformat(timespec="seconds")}}
    db.session.flush()
    audit.record("wireless.credential_tested", resource_type="provider_credential", resource_id=row.id,
                 org_id=row.org_id, actor=actor, result="success" if ok else "failure",
                 details={"provider": row.provider, "message": message[:300]})
