"""The honeypot: the public endpoints a token's URL, endpoint or server points at.

Its own blueprint (`bait_honeypot`, under /c), outside the console: on the guard's public
allowlist, exempt from CSRF, never touching the session. When VIGIL_BAIT_BASE_URL is set it
answers only on that URL's host, so it can live on a domain of its own. Each answer looks
like the service the bait imitates (a blank page or pixel, AWS's InvalidClientTokenId,
Stripe's, GitHub's or Slack's refusal, a Kubernetes 401) and never names Vigil. An unknown
identifier gets the web server's plain 404 and is counted as a probe, not stored.
"""

from __future__ import annotations

import json
import re
import uuid
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, Response, current_app, request, session

from app.bait import artifacts, kinds, services, settings
from app.extensions import csrf
from app.models import db

honeypot = Blueprint("bait_honeypot", __name__, url_prefix="/c")
csrf.exempt(honeypot)
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]  # a 405 would be the console's page
NOT_FOUND = ("<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1>"
             "</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
BLANK = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title></title></head><body></body></html>"
AWS_KEY_RE = re.compile(r"Credential=(AKIA[A-Z2-7]{16})/")
IMAGE_SUFFIXES = (".gif", ".png", ".jpg", ".jpeg", ".ico", ".svg")
# Headers kept with a hit: everything but the credentials the client presented.
SECRET_HEADERS = ("authorization", "cookie", "x-amz-security-token", "proxy-authorization")


def answer(body: str | bytes, status: int, media: str, **headers: str) -> Response:
    response = Response(body, status=status, mimetype=media)
    response.headers["Server"] = "nginx"
    for name, value in headers.items():
        response.headers[name.replace("_", "-")] = value
    return response


def not_found() -> Response:
    return answer(NOT_FOUND, 404, "text/html")


NGINX_STATUS = {400: "400 Bad Request", 405: "405 Not Allowed", 413: "413 Request Entity Too Large", 429: "429 Too Many Requests", 500: "500 Internal Server Error",
                502: "502 Bad Gateway", 503: "503 Service Temporarily Unavailable"}


@honeypot.after_request
def disguise(response: Response) -> Response:
    """Whatever else answered a honeypot URL (the shared rate limiter's 429, a 405) answers as
    the web server would, not with the console's error page; no cookie ever leaves."""
    # An error page may have put a CSRF token in the session; saving it would set a cookie.
    session.clear()
    session.modified = False
    response.headers.pop("Set-Cookie", None)
    if response.status_code in NGINX_STATUS and response.headers.get("Server") != "nginx":
        title = NGINX_STATUS[response.status_code]
        page = NOT_FOUND.replace("404 Not Found", title)
        replaced = answer(page, response.status_code, "text/html")
        if "Retry-After" in response.headers:
            replaced.headers["Retry-After"] = response.headers["Retry-After"]
        return replaced
    return response


def aws_error() -> Response:
    request_id = str(uuid.uuid4())
    xml = ('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">\n  <Error>\n    <Type>Sender</Type>\n'
           '    <Code>InvalidClientTokenId</Code>\n    <Message>The security token included in the request is invalid.'
           f'</Message>\n  </Error>\n  <RequestId>{request_id}</RequestId>\n</ErrorResponse>\n')
    return answer(xml, 403, "text/xml", x_amzn_RequestId=request_id)


def api_error(rest: str) -> Response:
    service = rest.split("/", 1)[0].lower()
    if service == "stripe":
        body = {"error": {"message": "Invalid API Key provided: sk_live_****", "type": "invalid_request_error"}}
        return answer(json.dumps(body), 401, "application/json", Request_Id="req_" + uuid.uuid4().hex[:14])
    if service == "github":
        body = {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"}
        return answer(json.dumps(body), 401, "application/json")
    if service == "slack":
        return answer(json.dumps({"ok": False, "error": "invalid_auth"}), 200, "application/json")
    return answer(json.dumps({"error": "unauthorized"}), 401, "application/json")


def kubernetes_error() -> Response:
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": "Unauthorized",
            "reason": "Unauthorized", "code": 401}
    return answer(json.dumps(body), 401, "application/json")


def web_answer(kind: str, rest: str) -> Response:
    if kind in ("image", "html", "docx") or rest.lower().endswith(IMAGE_SUFFIXES):
        return answer(artifacts.GIF_1X1, 200, "image/gif", Cache_Control="no-store")
    return answer(BLANK, 200, "text/html", Cache_Control="no-store")


def response_for(kind: str, rest: str) -> Response:
    if kind == "aws":
        return aws_error()
    if kind == "api":
        return api_error(rest)
    if kind == "kubeconfig":
        return kubernetes_error()
    return web_answer(kind, rest)


def request_type(kind: str, rest: str) -> str:
    if kind in ("url", "qr", "pdf", "image", "html", "docx"):
        return "image" if kind in ("image", "html", "docx") or rest.lower().endswith(IMAGE_SUFFIXES) else "http"
    return kinds.KINDS[kind][1]


def on_bait_host() -> bool:
    configured = settings.configured_base_url()
    return configured is None or urlsplit(configured).netloc.lower() == request.host.lower()


def bait_host_only():
    """On a bait host of its own, nothing but the honeypot answers: the console's pages (even
    its sign-in redirect) would say what is behind the bait. Runs before the sign-in guard."""
    configured = settings.configured_base_url()
    if configured is None or request.blueprint == honeypot.name:
        return None
    bait_host = urlsplit(configured).netloc.lower()
    console_host = urlsplit(current_app.config.get("PUBLIC_BASE_URL") or "").netloc.lower()
    if bait_host != console_host and request.host.lower() == bait_host:
        return not_found()
    return None


def kept_headers() -> dict[str, str]:
    return {k: v[:1000] for k, v in request.headers.items() if k.lower() not in SECRET_HEADERS}


# strict_slashes off: SDKs append "/" to an endpoint URL, and a redirect would give the game away.
@honeypot.route("/<ident>", methods=METHODS, defaults={"rest": ""}, strict_slashes=False)
@honeypot.route("/<ident>/<path:rest>", methods=METHODS)
def hit(ident: str, rest: str):
    """A token's URL, endpoint or server was touched: record it and answer like the real thing."""
    if not on_bait_host():
        return not_found()
    token = services.live_token(identifier=kinds.find_identifier(ident))
    if token is None:
        match = AWS_KEY_RE.search(request.headers.get("Authorization", ""))
        token = services.live_token(trigger=match.group(1)) if match else None
    if token is None or token.bait_type not in kinds.WEB_KINDS:
        services.count_probe()
        db.session.commit()  # an expiry noticed on the way is kept
        return not_found()
    raw = request.get_data() or urlencode(list(request.form.items(multi=True))).encode()  # form already parsed
    body = raw[:settings.body_limit()].decode("utf-8", "replace")
    try:
        services.record_hit(token, services.Hit(request.remote_addr, request_type(token.bait_type, rest),
                                                request.headers.get("User-Agent"), kept_headers(), body or None,
                                                notes=f"{request.method} /{rest}" if rest else request.method))
        db.session.commit()
    except Exception:  # the intruder must get the imitation, never an error page; the log keeps it
        db.session.rollback()
        current_app.logger.exception("bait: recording a hit on token %s failed", token.id)
    return response_for(token.bait_type, rest)
