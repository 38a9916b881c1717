"""Publishing bait where intruders look: a secret GitHub Gist or an unlisted paste.

Each provider is a small interface (`Publisher.publish(filename, content, title) -> URL`);
the organization's key is sealed in `provider_credentials` (keys `bait_gist`,
`bait_paste`, base URL in `options`, so tests and GitHub Enterprise can point elsewhere).
A token is marked seeded (seeded_at, seeded_location) only with the URL the service
returned: without a configured provider there is no publishing, never a made-up location.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from app import audit, crypto
from app.bait import artifacts
from app.models import BaitToken, ProviderCredential, db, utcnow
from app.outbound import OutboundRefused, check_host

TIMEOUT = 15


@dataclass(frozen=True)
class Spec:
    key: str
    label: str
    default_base: str
    secret_label: str
    purpose: str = "publish"  # publish: seeding bait; reputation: looking up a hit's address


SPECS = {s.key: s for s in (
    Spec("gist", "GitHub Gist (secret gist)", "https://api.github.com", "Personal access token (gist scope)"),
    Spec("paste", "Pastebin (unlisted paste)", "https://pastebin.com", "API developer key"),
    Spec("abuseipdb", "AbuseIPDB (IP reputation of hits)", "https://api.abuseipdb.com", "API key", "reputation"),
)}
PUBLISHERS = tuple(k for k, s in SPECS.items() if s.purpose == "publish")


class SeedError(Exception):
    """Publishing is not possible or failed (message is for the page)."""


def credential_key(provider: str) -> str:
    return f"bait_{provider}"


def stored(org_id: int, provider: str) -> ProviderCredential | None:
    return db.session.scalar(sa.select(ProviderCredential).where(
        ProviderCredential.org_id == org_id, ProviderCredential.provider == credential_key(provider)))


def configured(org_id: int) -> dict[str, dict[str, Any]]:
    """What the page shows per provider (never the key)."""
    out = {}
    for key in SPECS:
        row = stored(org_id, key)
        if row is not None:
            out[key] = {"base_url": (row.options or {}).get("base_url"), "updated_at": row.updated_at}
    return out


def set_provider(org_id: int, provider: str, base_url: str, api_key: str, actor: Any) -> ProviderCredential:
    """Save a provider's key (sealed) and base URL; a blank key keeps the stored one. Audited."""
    if provider not in SPECS:
        raise SeedError("Unknown provider.")
    base_url = (base_url or SPECS[provider].default_base).strip().rstrip("/")
    if not base_url.startswith(("https://", "http://")):
        raise SeedError("The base URL must start with https:// (or http://).")
    row = stored(org_id, provider)
    api_key = (api_key or "").strip()
    if row is None and not api_key:
        raise SeedError("Enter the key.")
    if row is None:
        row = ProviderCredential(org_id=org_id, provider=credential_key(provider), secret_encrypted="")
        db.session.add(row)
    if api_key:
        row.secret_encrypted = crypto.encrypt_text(api_key)
    row.options = {"base_url": base_url}
    row.updated_by_id = getattr(actor, "id", None)
    db.session.flush()
    audit.record("bait.provider_saved", resource_type="provider_credential", resource_id=row.id, org_id=org_id,
                 actor=actor, new={"provider": provider, "base_url": base_url, "key_changed": bool(api_key)})
    return row


def post(url: str, data: bytes, headers: dict[str, str]) -> bytes:
    parts = urllib.parse.urlsplit(url)
    try:
        check_host(parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
        request = urllib.request.Request(url, data=data, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.read(100_000)
    except OutboundRefused as exc:
        raise SeedError(f"Refused: {exc}") from exc
    except urllib.error.HTTPError as exc:
        raise SeedError(f"The service answered {exc.code}.") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise SeedError(f"The service could not be reached: {exc}") from exc


class GistPublisher:
    def __init__(self, base_url: str, token: str) -> None:
        self.base_url, self.token = base_url, token

    def publish(self, filename: str, content: str, title: str) -> str:
        body = json.dumps({"description": title, "public": False, "files": {filename: {"content": content}}})
        answer = post(f"{self.base_url}/gists", body.encode(), {
            "Authorization": f"Bearer {self.token}", "Accept": "application/vnd.github+json",
            "Content-Type": "application/json", "User-Agent": "deploy-scripts"})
        try:
            url = json.loads(answer)["html_url"]
        except (ValueError, KeyError, TypeError) as exc:
            raise SeedError("The service gave no gist URL.") from exc
        return str(url)


class PastePublisher:
    def __init__(self, base_url: str, key: str) -> None:
        self.base_url, self.key = base_url, key

    def publish(self, filename: str, content: str, title: str) -> str:
        form = urllib.parse.urlencode({"api_dev_key": self.key, "api_option": "paste", "api_paste_code": content,
                                       "api_paste_name": filename, "api_paste_private": "1"}).encode()
        answer = post(f"{self.base_url}/api/api_post.php", form,
                      {"Content-Type": "application/x-www-form-urlencoded"}).decode("utf-8", "replace").strip()
        if not answer.startswith(("https://", "http://")):
            raise SeedError(f"The service refused: {answer[:200]}")
        return answer


def sealed_key(org_id: int, provider: str) -> tuple[str, str] | None:
    """(base URL, key) of a configured provider, decrypted only now, or None."""
    row = stored(org_id, provider) if provider in SPECS else None
    if row is None or not row.secret_encrypted:
        return None
    return (row.options or {}).get("base_url") or SPECS[provider].default_base, crypto.decrypt_text(row.secret_encrypted)


def publisher(org_id: int, provider: str) -> GistPublisher | PastePublisher:
    row = stored(org_id, provider) if provider in PUBLISHERS else None
    if row is None or not row.secret_encrypted:
        raise SeedError(f"{SPECS[provider].label if provider in SPECS else provider} is not configured.")
    base = (row.options or {}).get("base_url") or SPECS[provider].default_base
    secret = crypto.decrypt_text(row.secret_encrypted)
    return GistPublisher(base, secret) if provider == "gist" else PastePublisher(base, secret)


SEEDABLE = ("aws", "api", "kubeconfig", "postgres", "html", "url", "dns")


def publish(token: BaitToken, provider: str, secret: dict[str, Any], actor: Any) -> str:
    """Publish the token's bait through the provider; records seeded_at/location (audited)."""
    if token.bait_type not in SEEDABLE:
        raise SeedError("Only text bait can be published (download documents and images instead).")
    if token.status in ("revoked", "expired"):
        raise SeedError(f"The token is {token.status}.")
    target = publisher(token.org_id, provider)
    name, _media, content = artifacts.artifact(token, secret)
    url = target.publish(name, content.decode("utf-8", "replace"), "config backup")
    token.seeded_at, token.seeded_location = utcnow(), url[:500]
    audit.record("bait.token_seeded", resource_type="bait_token", resource_id=token.id, org_id=token.org_id,
                 actor=actor, new={"seeded_location": token.seeded_location, "provider": provider})
    return url
