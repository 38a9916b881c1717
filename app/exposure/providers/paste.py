"""Paste search: psbdmp.ws, an index of Pastebin dumps (psbdmp.ws/api; the same API SpiderFoot's
`sfp_psbdmp` module reads). The search needs no key, so the source never reports `no_key`.

- `GET /api/v3/search/{query}` answers a JSON list of pastes, each
  `{"id": "Xy12AbCd", "tags": "mail", "length": 1234, "time": "2023-05-01 12:34:56", "text": "..."}`
  (`text` is the start of the paste). The older answer
  `{"search": q, "count": n, "data": [{"id", "tags", "time"}]}` is read the same way.
- An empty list (or `count: 0`) means nothing found; an error answers
  `{"error": "..."}` (or `"error": 1` with a `message`), a 429 with `Retry-After` when the
  per-address limit is reached, and a non-JSON page when the site's front protection refuses.

Each paste becomes a pastebin_findings row (`paste_id` = `psbdmp:<id>`), kept once per
organization: its text with every secret masked (app/exposure/redact.py), and only the first
secret's mask and HMAC. A searched password never reaches this source (it does not take them).
"""

from __future__ import annotations

import sqlalchemy as sa

from app.exposure import keys
from app.exposure.providers.base import Context, Hit, Provider, ProviderError, Query, RateLimited
from app.exposure.providers.remote import quoted
from app.exposure.redact import Secret, data_classes, redact
from app.models import db, utcnow
from app.models.exposure import PastebinFinding

LIMIT = 50  # pastes kept from one answer
CONTEXT_CHARS = 2000


def entries(body) -> list[dict]:
    """The pastes of either documented answer shape; ProviderError or RateLimited otherwise."""
    if isinstance(body, list):
        return [e for e in body if isinstance(e, dict) and e.get("id")]
    if isinstance(body, dict):
        error = body.get("error")
        if error and error != 0:
            message = str(body.get("message") or error)
            if "limit" in message.lower() or "too many" in message.lower():
                raise RateLimited(f"psbdmp: {message[:200]}")
            raise ProviderError(f"psbdmp answered an error: {message[:200]}")
        data = body.get("data")
        if isinstance(data, list):
            return [e for e in data if isinstance(e, dict) and e.get("id")]
    raise ProviderError("psbdmp answered an unexpected body")


class PasteSearch(Provider):
    key = "psbdmp"
    label = "Paste search (psbdmp)"
    types = ("email", "domain", "username", "keyword")
    per_minute = 20  # the service publishes no figure; kept well under what it tolerates

    def search(self, ctx: Context, query: Query) -> list[Hit]:
        base = self.base_url("https://psbdmp.ws/api")
        result = self.get(f"{base}/v3/search/{quoted(query.value)}")  # 429 -> RateLimited, 5xx -> error
        if result.status == 404:
            return []
        if result.body is None:
            raise ProviderError(f"{self.label} answered HTTP {result.status} without JSON (blocked or down)")
        pastes = entries(result.body)  # an error body says why, whatever the status
        if result.status != 200:
            raise ProviderError(f"{self.label} answered HTTP {result.status}")
        hmac_key = keys.password_hmac_key() if pastes else b""
        hits = []
        for paste in pastes[:LIMIT]:
            paste_id = str(paste["id"])[:200]
            context, found = redact(str(paste.get("text") or "")[:CONTEXT_CHARS], hmac_key)
            url = f"https://pastebin.com/{paste_id}"
            posted = str(paste.get("time") or "")[:40] or None
            tags = str(paste.get("tags") or "").strip()
            self.record(ctx, query, paste_id, tags, url, posted, context, found)
            hits.append(Hit(self.key, "paste", f"Paste {paste_id}" + (f" ({tags})" if tags else ""),
                            date=posted[:10] if posted else None, url=url, ref=paste_id,
                            data_classes=data_classes(found), detail=(f"{len(found)} secret(s) masked; " if found else "") + context[:300]))
        return hits

    def record(self, ctx: Context, query: Query, paste_id: str, tags: str, url: str, posted: str | None,
               context: str, found: list[Secret]) -> None:
        ident = f"psbdmp:{paste_id}"
        row = db.session.scalar(sa.select(PastebinFinding).where(PastebinFinding.org_id == ctx.org_id,
                                                                 PastebinFinding.paste_id == ident))
        if row is None:
            row = PastebinFinding(org_id=ctx.org_id, paste_id=ident, discovered_at=utcnow())
            db.session.add(row)
        row.paste_title = (f"Paste {paste_id}" + (f" ({tags})" if tags else ""))[:255]
        row.paste_url, row.posted_date = url, posted
        row.query_term, row.query_type, row.context = query.value[:255], query.type, context
        if found:
            row.credential_masked, row.credential_hmac = found[0].masked[:64], found[0].hmac
        db.session.flush()
