"""GitHub code search (docs.github.com, REST "Search code"): e-mails, domains and keywords in
public code. Needs a token (code search requires authentication); text matches are asked for
(`application/vnd.github.text-match+json`) and every secret in a fragment is masked before it
is shown or stored (app/exposure/redact.py); each file becomes a github_findings row.
Rate limits: 429, or 403 with `X-RateLimit-Remaining: 0` or a "rate limit" message.
"""

from __future__ import annotations

import sqlalchemy as sa

from app.exposure import keys
from app.exposure.providers.base import Context, Hit, Provider, ProviderError, Query
from app.exposure.redact import data_classes, redact
from app.models import db, utcnow
from app.models.exposure import GithubFinding
from app.outbound.http import HttpResult


class GithubCode(Provider):
    key = "github"
    label = "GitHub code search"
    types = ("email", "domain", "keyword", "username")
    needs_key = True
    per_minute = 9  # code search allows 10 requests a minute per user

    def is_rate_limited(self, result: HttpResult) -> bool:
        remaining = result.headers.get("X-RateLimit-Remaining") or result.headers.get("x-ratelimit-remaining")
        message = str((result.body or {}).get("message", "")) if isinstance(result.body, dict) else ""
        return result.status == 403 and (remaining == "0" or "rate limit" in message.lower())

    def search(self, ctx: Context, query: Query) -> list[Hit]:
        base = self.base_url("https://api.github.com")
        result = self.get(f"{base}/search/code", params={"q": f'"{query.value}"', "per_page": 30},
                          headers={"Authorization": f"Bearer {self.api_key(ctx)}",
                                   "X-GitHub-Api-Version": "2022-11-28"},
                          accept="application/vnd.github.text-match+json")
        body = result.body
        if result.status != 200 or not isinstance(body, dict) or "items" not in body:
            message = body.get("message") if isinstance(body, dict) else None
            raise ProviderError(f"{self.label} answered HTTP {result.status}: {message or 'unexpected body'}")
        hmac_key = keys.password_hmac_key()
        hits = []
        for item in body["items"]:
            repo = (item.get("repository") or {}).get("full_name", "?")
            fragment = " … ".join(m.get("fragment", "") for m in item.get("text_matches") or [])[:2000]
            context, found = redact(fragment, hmac_key)
            ident = f"{repo}:{item.get('path')}:{item.get('sha')}"[:255]
            self.record(ctx, query, ident, item, context, found)
            hits.append(Hit(self.key, "code", f"{repo}/{item.get('path')}", url=item.get("html_url"),
                            data_classes=data_classes(found),
                            detail=(f"{len(found)} secret(s) masked; " if found else "") + context[:300]))
        return hits

    def record(self, ctx: Context, query: Query, ident: str, item: dict, context: str, found: list) -> None:
        row = db.session.scalar(sa.select(GithubFinding).where(GithubFinding.org_id == ctx.org_id,
                                                               GithubFinding.gist_id == ident))
        if row is None:
            row = GithubFinding(org_id=ctx.org_id, gist_id=ident, discovered_at=utcnow())
            db.session.add(row)
        row.gist_url = (item.get("html_url") or "")[:500]
        row.filename = (item.get("name") or "")[:255]
        row.query_term, row.query_type, row.context = query.value[:255], query.type, context
        if found:
            row.credential_type, row.credential_masked, row.credential_hmac = found[0].kind, found[0].masked, found[0].hmac
        db.session.flush()
