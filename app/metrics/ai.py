"""The optional AI mapping provider of an organization: configuration and the HTTP client.

Nothing requires it: mapping suggestions always come from the offline matcher first. An
admin may configure an OpenAI-compatible chat-completions endpoint (base URL, model, API
key sealed with app/crypto.py in `provider_credentials`, provider "metrics_ai"); then the
review page offers "Ask the AI provider", which runs the `metrics.ai_suggest` job. Requests
pass the outbound address guard, and the answer is checked: only subcategory codes of the
loaded framework are kept, confidences are clamped to 0..1.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from app import audit, crypto
from app.metrics.mapping import SubcategoryText, Suggestion
from app.models import ProviderCredential, db, utcnow
from app.models.wireless import AI_PROVIDER_KEY
from app.outbound import OutboundRefused
from app.outbound.http import TransientFailure, request_json

PROVIDER_KEY = AI_PROVIDER_KEY
SYSTEM_PROMPT = (
    "You map security metrics to NIST CSF 2.0 subcategories. Answer only with JSON of the form "
    '{"suggestions": [{"code": "PR.AT-01", "confidence": 0.8}]}, best first, using only these codes:\n')


class AiProviderError(Exception):
    """The provider could not be reached or gave an answer that cannot be used."""


class AiConfigError(ValueError):
    """A configuration that cannot be saved (message is for the form)."""


def _row(org_id: int) -> ProviderCredential | None:
    return db.session.scalar(sa.select(ProviderCredential).where(
        ProviderCredential.org_id == org_id, ProviderCredential.provider == PROVIDER_KEY))


def ai_config(org_id: int) -> dict[str, Any] | None:
    """What the settings page shows (never the key)."""
    row = _row(org_id)
    if row is None:
        return None
    return {"base_url": (row.options or {}).get("base_url"), "model": row.api_name, "updated_at": row.updated_at}


def set_ai_config(org_id: int, base_url: str, model: str, api_key: str | None, actor: Any) -> ProviderCredential:
    """Create or change the configuration; a blank key keeps the stored one."""
    base_url, model, api_key = base_url.strip().rstrip("/"), model.strip(), (api_key or "").strip()
    if not base_url.startswith(("https://", "http://")):
        raise AiConfigError("The base URL must start with https:// (or http://).")
    row = _row(org_id)
    if row is None and not api_key:
        raise AiConfigError("Enter the API key.")
    created = row is None
    old = None if created else {"base_url": (row.options or {}).get("base_url"), "model": row.api_name}
    if created:
        row = ProviderCredential(org_id=org_id, provider=PROVIDER_KEY, options={})
        db.session.add(row)
    if api_key:
        row.secret_encrypted = crypto.encrypt_text(api_key)
    row.api_name, row.options = model, {"base_url": base_url}
    row.updated_at, row.updated_by_id = utcnow(), getattr(actor, "id", None)
    db.session.flush()
    audit.record("metrics.ai_provider_set", resource_type="provider_credential", resource_id=row.id, org_id=org_id,
                 old=old, new={"base_url": base_url, "model": model, "key_changed": bool(api_key)})
    return row


def clear_ai_config(org_id: int) -> bool:
    row = _row(org_id)
    if row is None:
        return False
    row_id = row.id
    db.session.delete(row)
    db.session.flush()
    audit.record("metrics.ai_provider_cleared", resource_type="provider_credential", resource_id=row_id,
                 org_id=org_id, old={"provider": PROVIDER_KEY})
    return True


class HttpMappingProvider:
    """An OpenAI-compatible chat-completions endpoint asked for subcategory codes."""

    mode = "ai"

    def __init__(self, base_url: str, api_key: str, model: str, subcategories: list[SubcategoryText]):
        self.base_url, self._key, self.model = base_url, api_key, model
        self.name = "openai-compatible"
        self._subs = {s.code: s for s in subcategories}
        self.tokens_used = 0

    def suggest(self, text: str, function_code: str | None = None, top: int = 3) -> list[Suggestion]:
        codes = "\n".join(f"{s.code}: {s.text[:200]}" for s in self._subs.values())
        body = {"model": self.model, "temperature": 0, "response_format": {"type": "json_object"},
                "messages": [{"role": "system", "content": SYSTEM_PROMPT + codes},
                             {"role": "user", "content": text + (f"\n(CSF function: {function_code})"
                                                                 if function_code else "")}]}
        try:
            result = request_json("POST", f"{self.base_url}/chat/completions", json_body=body,
                                  headers={"Authorization": f"Bearer {self._key}"}, retries=1)
        except (TransientFailure, OutboundRefused) as exc:
            raise AiProviderError(str(exc)) from None
        if result.status != 200 or not isinstance(result.body, dict):
            raise AiProviderError(f"the provider answered HTTP {result.status}")
        try:
            content = json.loads(result.body["choices"][0]["message"]["content"])
            raw = content["suggestions"]
            self.tokens_used = int((result.body.get("usage") or {}).get("total_tokens") or 0)
        except (KeyError, IndexError, TypeError, ValueError):
            raise AiProviderError("the provider's answer is not the expected JSON") from None
        out: list[Suggestion] = []
        for entry in raw if isinstance(raw, list) else []:
            sub = self._subs.get(str((entry or {}).get("code", "")).strip().upper()) \
                if isinstance(entry, dict) else None
            if sub is None or any(s.code == sub.code for s in out):
                continue  # an invented or repeated code is dropped
            try:
                confidence = min(1.0, max(0.0, float(entry.get("confidence", 0))))
            except (TypeError, ValueError):
                confidence = 0.0
            out.append(Suggestion(sub.code, sub.function_code, sub.category_code, round(confidence, 4), sub.key))
        return out[:top]


def configured_provider(org_id: int, subcategories: list[SubcategoryText]) -> HttpMappingProvider | None:
    """The organization's AI provider with its key decrypted, or None when none is configured."""
    row = _row(org_id)
    if row is None or not (row.options or {}).get("base_url"):
        return None
    return HttpMappingProvider(row.options["base_url"], crypto.decrypt_text(row.secret_encrypted),
                               row.api_name or "", subcategories)
