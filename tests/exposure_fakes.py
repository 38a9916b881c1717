"""A local stand-in for the breach services, on 127.0.0.1, answering with their documented
response shapes (bodies copied from each service's API documentation), including errors and
rate limits. Each route is a function of the request path returning (status, headers, body)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import sqlalchemy as sa

from app.models import db

Route = Callable[[str], tuple[int, dict[str, str], bytes | str | object]]

ADOBE = {
    "Name": "Adobe", "Title": "Adobe", "Domain": "adobe.com", "BreachDate": "2013-10-04",
    "AddedDate": "2013-12-04T00:00:00Z", "ModifiedDate": "2022-05-15T23:52:49Z", "PwnCount": 152445165,
    "Description": "In October 2013, 153 million Adobe accounts were breached...",
    "LogoPath": "https://haveibeenpwned.com/Content/Images/PwnedLogos/Adobe.png",
    "DataClasses": ["Email addresses", "Password hints", "Passwords", "Usernames"],
    "IsVerified": True, "IsFabricated": False, "IsSensitive": False, "IsRetired": False, "IsSpamList": False,
    "IsMalware": False, "IsSubscriptionFree": False,
}
GAWKER = {**ADOBE, "Name": "Gawker", "Title": "Gawker", "Domain": "gawker.com", "BreachDate": "2010-12-11",
          "PwnCount": 1247574, "DataClasses": ["Email addresses", "Passwords", "Usernames"]}
PASTE = {"Source": "Pastebin", "Id": "8Q0BvKD8", "Title": "syslog", "Date": "2014-03-04T19:14:54Z", "EmailCount": 139}
HIBP_429 = {"statusCode": 429, "message": "Rate limit is exceeded. Try again in 2 seconds."}
HIBP_401 = {"statusCode": 401, "message": "Access denied due to invalid hibp-api-key."}
# SHA-1("password") = 5BAA6 1E4C9B93F3F0682250B6CF8331B7EE68FD8
PWNED_RANGE = ("003D68EB55068C33ACE09247EE4C639306B:3\r\n1E4C9B93F3F0682250B6CF8331B7EE68FD8:9659365\r\n"
               "01330C689E5D64F660D6947A93AD634EF8F:0\r\n")

# GitHub "Search code" item with text matches (application/vnd.github.text-match+json).
GITHUB_ITEM = {
    "name": "settings.py", "path": "app/settings.py", "sha": "d1f4b1c0ffee",
    "url": "https://api.github.com/repositories/1/contents/app/settings.py?ref=d1f4",
    "git_url": "https://api.github.com/repositories/1/git/blobs/d1f4",
    "html_url": "https://github.com/someone/leaky/blob/d1f4/app/settings.py",
    "repository": {"id": 1, "full_name": "someone/leaky", "html_url": "https://github.com/someone/leaky"},
    "score": 1.0,
    "text_matches": [{"object_url": "https://api.github.com/repositories/1/contents/app/settings.py",
                      "object_type": "FileContent", "property": "content",
                      "fragment": "SMTP_USER = 'ops@acme.test'\npassword = 'Hunter2-Secret-99'\nAWS = 'AKIAABCDEFGHIJKLMNOP'",
                      "matches": [{"text": "ops@acme.test", "indices": [13, 26]}]}],
}

# psbdmp.ws v3 search: a JSON list of pastes (id, tags, length, time, text = the paste's start).
PASTE_SECRET = "Paste-Leak-Pw-5521"
PSBDMP_PASTES = [
    {"id": "Xy12AbCd", "tags": "mail", "length": 5120, "time": "2023-05-01 12:34:56",
     "text": f"combo dump\njane@example.com:{PASTE_SECRET}\nother@site.test:hunter22\n"},
    {"id": "Qw34ErTy", "tags": "", "length": 300, "time": "2024-02-11 08:00:00",
     "text": "contact jane@example.com for the report"},
]
PSBDMP_V2 = {"search": "acme.test", "count": 1, "data": [{"id": "Zx56CvBn", "tags": "domain", "time": "2019-07-30"}]}


def psbdmp_route(path: str):
    """Answers of psbdmp.ws's search by what is searched (the value picks the case)."""
    if "nobody" in path:
        return 200, {}, []
    if "ratelimited" in path:
        return 429, {"Retry-After": "60"}, {"error": "Too many requests"}
    if "disabled" in path:
        return 200, {}, {"error": 1, "message": "Search is temporarily disabled"}
    if "blocked" in path:
        return 403, {"Content-Type": "text/html"}, "<html><title>Just a moment...</title></html>"
    if "html" in path:
        return 200, {"Content-Type": "text/html"}, "<html>maintenance</html>"
    if path.endswith("/acme.test"):  # the older documented shape
        return 200, {}, PSBDMP_V2
    return 200, {}, PSBDMP_PASTES


class FakeServices:
    def __init__(self, routes: dict[str, Route]):
        self.routes = routes
        self.requests: list[tuple[str, dict[str, str]]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                fake.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                for prefix, route in fake.routes.items():
                    if self.path.startswith(prefix):
                        status, headers, body = route(self.path)
                        break
                else:
                    status, headers, body = 404, {}, {"statusCode": 404}
                if not isinstance(body, bytes | str):
                    body = json.dumps(body)
                    headers = {"Content-Type": "application/json", **headers}
                data = body.encode() if isinstance(body, str) else body
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def hibp_routes(account_status: int = 200) -> dict[str, Route]:
    def account(path: str):
        if account_status == 429:
            return 429, {"Retry-After": "2"}, HIBP_429
        if account_status == 401:
            return 401, {}, HIBP_401
        if "nobody%40" in path:
            return 404, {}, b""
        return 200, {}, [ADOBE, GAWKER, ADOBE]  # a breach named twice is merged once

    return {
        "/hibp/breachedaccount/": account,
        "/hibp/pasteaccount/": lambda path: (404, {}, b"") if "nobody%40" in path else (200, {}, [PASTE]),
        "/hibp/breacheddomain/": lambda path: (200, {}, {"alias1": ["Adobe"], "alias2": ["Adobe", "Gawker"]}),
        "/pwned/range/": lambda path: (200, {"Content-Type": "text/plain"}, PWNED_RANGE),
        "/xon/v1/check-email/": lambda path: ((404, {}, {"Error": "Not found"}) if "nobody%40" in path
                                               else (200, {}, {"breaches": [["Adobe", "Canva"]]})),
        "/psbdmp/v3/search/": psbdmp_route,
        "/leakcheck/api/public": lambda path: ((200, {}, {"success": False, "error": "Not found"}) if "nobody" in path
                                                else (200, {}, {"success": True, "found": 2, "fields": ["username", "dob"],
                                                                "sources": [{"name": "Canva.com", "date": "2019-05"},
                                                                            {"name": "Zynga.com", "date": "2019-09"}]})),
    }


def database_text() -> str:
    """Every row of every table as text (PostgreSQL and SQLite): what a never-plaintext check greps."""
    return "\n".join(str(tuple(row)) for table in db.metadata.sorted_tables
                     for row in db.session.execute(sa.select(table)).all())
