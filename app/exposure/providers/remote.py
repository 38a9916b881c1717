"""The outside breach services, each on its documented API (base URL overridable per source
with EXPOSURE_<KEY>_URL, which is how the tests point them at local fakes).

- Have I Been Pwned v3 (haveibeenpwned.com/API/v3): `breachedaccount/{account}` (404 = none),
  `breacheddomain/{domain}` (verified domains only; alias -> breach names), `pasteaccount/{email}`;
  `hibp-api-key` header; 429 with Retry-After.
- Pwned Passwords range API (api.pwnedpasswords.com/range/{5 hex}): k-anonymity, only the
  first five SHA-1 hex digits leave Vigil; the answer is `SUFFIX:COUNT` lines (padded with
  count 0 when Add-Padding is sent); the suffix is compared here, in memory.
- XposedOrNot (api.xposedornot.com/v1/check-email/{email}): `{"breaches": [[names]]}`, 404
  `{"Error": "Not found"}`, 429.
- LeakCheck public API (leakcheck.io/api/public?check=): `{"success": true, "found": n,
  "fields": [...], "sources": [{"name", "date"}]}`, or `{"success": false, "error": ...}`.
"""

from __future__ import annotations

import hashlib
import urllib.parse

from app.exposure.providers.base import Context, Hit, Provider, ProviderError, Query, RateLimited


def quoted(value: str) -> str:
    return urllib.parse.quote(value, safe="")


class Hibp(Provider):
    key = "hibp"
    label = "Have I Been Pwned"
    types = ("email", "domain", "username", "phone")
    needs_key = True
    per_minute = 10  # the lowest HIBP subscription allows 10 requests a minute

    def search(self, ctx: Context, query: Query) -> list[Hit]:
        base = self.base_url("https://haveibeenpwned.com/api/v3")
        headers = {"hibp-api-key": self.api_key(ctx)}
        if query.type == "domain":
            result = self.get(f"{base}/breacheddomain/{quoted(query.value)}", headers=headers)
            if result.status == 404:
                return []
            self.expect(result.status, result.body, dict)
            names: dict[str, int] = {}
            for breaches in result.body.values():
                for name in breaches or []:
                    names[name] = names.get(name, 0) + 1
            return [Hit(self.key, "breach", name, count=n, detail=f"{n} address(es) of {query.value}")
                    for name, n in sorted(names.items())]
        result = self.get(f"{base}/breachedaccount/{quoted(query.value)}", headers=headers,
                          params={"truncateResponse": "false"})
        hits: list[Hit] = []
        if result.status != 404:
            self.expect(result.status, result.body, list)
            hits = [Hit(self.key, "breach", str(b.get("Title") or b.get("Name")), date=b.get("BreachDate"),
                        data_classes=list(b.get("DataClasses") or []), count=b.get("PwnCount"),
                        url=f"https://haveibeenpwned.com/PwnedWebsites#{b.get('Name')}", detail=b.get("Domain"))
                    for b in result.body]
        if query.type == "email":
            pastes = self.get(f"{base}/pasteaccount/{quoted(query.value)}", headers=headers)
            if pastes.status != 404:
                self.expect(pastes.status, pastes.body, list)
                hits += [Hit(self.key, "paste", p.get("Title") or f"{p.get('Source')} {p.get('Id')}",
                             date=(p.get("Date") or "")[:10] or None, count=p.get("EmailCount"),
                             detail=p.get("Source")) for p in pastes.body]
        return hits

    def expect(self, status: int, body, kind: type) -> None:
        if status != 200 or not isinstance(body, kind):
            raise ProviderError(f"{self.label} answered HTTP {status} with an unexpected body")


class PwnedPasswords(Provider):
    key = "pwned_passwords"
    label = "Pwned Passwords"
    types = ("password",)
    per_minute = 60

    def search(self, ctx: Context, query: Query) -> list[Hit]:
        digest = hashlib.sha1(query.value.encode("utf-8")).hexdigest().upper()  # noqa: S324 - the API's scheme
        prefix, suffix = digest[:5], digest[5:]
        base = self.base_url("https://api.pwnedpasswords.com")
        result = self.get(f"{base}/range/{prefix}", headers={"Add-Padding": "true"}, accept="text/plain")
        if result.status != 200:
            raise ProviderError(f"{self.label} answered HTTP {result.status}")
        for line in result.text.splitlines():
            candidate, _, count = line.strip().partition(":")
            if candidate.upper() == suffix and count.strip().isdigit() and int(count) > 0:
                return [Hit(self.key, "password", "Password seen in breaches", count=int(count),
                            detail=f"seen {int(count):,} times; only the prefix {prefix} was sent")]
        return []


class XposedOrNot(Provider):
    key = "xposedornot"
    label = "XposedOrNot"
    types = ("email",)
    per_minute = 2 * 60  # documented: 2 requests a second

    def search(self, ctx: Context, query: Query) -> list[Hit]:
        base = self.base_url("https://api.xposedornot.com")
        result = self.get(f"{base}/v1/check-email/{quoted(query.value)}")
        if result.status == 404:
            return []
        body = result.body
        if result.status != 200 or not isinstance(body, dict) or "breaches" not in body:
            raise ProviderError(f"{self.label} answered HTTP {result.status} with an unexpected body")
        names = [n for group in body["breaches"] or [] for n in (group if isinstance(group, list) else [group])]
        return [Hit(self.key, "breach", str(name)) for name in names]


class LeakCheck(Provider):
    key = "leakcheck"
    label = "LeakCheck (public)"
    types = ("email", "username")
    per_minute = 60  # the public API allows one request a second

    def search(self, ctx: Context, query: Query) -> list[Hit]:
        base = self.base_url("https://leakcheck.io")
        result = self.get(f"{base}/api/public", params={"check": query.value})
        body = result.body if isinstance(result.body, dict) else {}
        if body.get("success") is True:
            fields = [str(f) for f in body.get("fields") or []]
            return [Hit(self.key, "breach", str(s.get("name")), date=s.get("date") or None, data_classes=fields)
                    for s in body.get("sources") or []]
        error = str(body.get("error") or "").lower()
        if "not found" in error:
            return []
        if "too many" in error or "limit" in error:
            raise RateLimited(f"{self.label}: {body.get('error')}")
        raise ProviderError(f"{self.label} answered HTTP {result.status}: {body.get('error') or 'unexpected body'}")
