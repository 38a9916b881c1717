"""Error pages (HTML) and JSON errors with stable codes (API), never a stack trace."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from flask import Flask, current_app, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from app.core.guard import wants_json
from app.models import db

MESSAGES = {
    400: "The request could not be understood.",
    401: "Please sign in.",
    403: "Your role does not allow this.",
    404: "Nothing here, or not in your organization.",
    405: "That method is not allowed here.",
    409: "That conflicts with the current state.",
    413: "The upload is too large.",
    422: "Some values are not valid.",
    429: "Too many requests; slow down.",
    500: "Something went wrong on our side. It has been logged.",
}


AGENT_PATH = "/api/agent/"
RETRY_AFTER_SECONDS = 30
CSRF_MESSAGE = "Your form expired or was not sent from Vigil. Reload the page and try again."
COOKIE_DROPPED_MESSAGE = (
    "Your browser did not send Vigil's session cookie: this server marks its cookies secure, and browsers "
    "only send secure cookies over HTTPS. Open Vigil through https://, or, to try production mode on this "
    "machine over plain HTTP, start it with VIGIL_SECURE_COOKIES=0 (see docs/deployment.md)."
)


def _respond(status: int, message: str, code: str, headers: dict[str, str] | None = None):
    if wants_json():
        return jsonify(error={"code": code, "message": message}), status, headers or {}
    return render_template("errors/error.html", status=status, message=message), status, headers or {}


def csrf_message() -> str:
    """Why the CSRF check failed, in words: a secure session cookie dropped by the browser
    on plain HTTP is a set-up problem, not an expired form."""
    secure = current_app.config.get("SESSION_COOKIE_SECURE")
    cookie = current_app.config.get("SESSION_COOKIE_NAME", "session")
    if secure and not request.is_secure and cookie not in request.cookies:
        return COOKIE_DROPPED_MESSAGE
    return CSRF_MESSAGE


def is_unavailable(exc: Exception) -> bool:
    """Redis or the database does not answer (as opposed to a bug in a query)."""
    if isinstance(exc, (RedisConnectionError, RedisTimeoutError)):
        return True
    return isinstance(exc, OperationalError) or (isinstance(exc, DBAPIError) and exc.connection_invalidated)


def unavailable_response(exc: Exception):
    """503 with Retry-After: agents keep their data and send it again; people retry."""
    what = "queue" if isinstance(exc, (RedisConnectionError, RedisTimeoutError)) else "database"
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if request.path.startswith(AGENT_PATH):
        response = jsonify(error={"code": f"{what}_unavailable", "retry_after": RETRY_AFTER_SECONDS,
                                  "message": f"The server cannot store data now ({what} unavailable); "
                                             "keep it and send it again later."})
        return response, 503, headers
    return _respond(503, f"Vigil's {what} is unavailable for a moment. Try again shortly.",
                    f"{what}_unavailable", headers)


# What a refused request means beyond its 403 page is identity's business: app/auth
# registers its recorder here (the core never imports a domain).
ACCESS_DENIED_HANDLERS: list[Callable[[], None]] = []


def on_access_denied(handler: Callable[[], None]) -> Callable[[], None]:
    """Call `handler()` (inside the request) whenever a request is refused with a 403."""
    if handler not in ACCESS_DENIED_HANDLERS:
        ACCESS_DENIED_HANDLERS.append(handler)
    return handler


def record_access_denied() -> None:
    """A refused request is handed to every registered handler (auth records a security event)."""
    for handler in ACCESS_DENIED_HANDLERS:
        handler()


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return _respond(400, csrf_message(), "csrf")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        if status == 403:
            record_access_denied()
        # abort(404, "...") gives its own description; otherwise use our plain wording.
        custom = exc.description and exc.description != type(exc).description
        message = exc.description if custom else MESSAGES.get(status, exc.name)
        # The exception's own headers (Allow on a 405, WWW-Authenticate, Retry-After on a 503
        # from the job queue or a 429) are part of the answer.
        headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
        return _respond(status, message, (exc.name or "error").lower().replace(" ", "_"), headers)

    @app.errorhandler(DataError)
    def data_error(exc: DataError):
        # The database refused a value (too long, out of range for its column): the input's
        # fault, not ours. Views validate first; this is the backstop that keeps it a 422.

        db.session.rollback()
        error_id = uuid.uuid4().hex[:12]
        app.logger.warning("value refused by the database (error id %s)", error_id, exc_info=exc)
        return _respond(422, "A value is too long, too large or not valid for what Vigil stores; nothing was "
                             f"saved (error id {error_id}).", "invalid_value")

    @app.errorhandler(OverflowError)
    def overflow_error(exc: OverflowError):
        # SQLite's driver refuses an integer beyond 64 bits before the database sees it: the
        # same input fault as PostgreSQL's DataError, so the same answer. Any other overflow is ours.
        if "SQLite INTEGER" in str(exc):
            return data_error(exc)
        return unhandled(exc)

    @app.errorhandler(Exception)
    def unhandled(exc: Exception):

        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001 - the database may be what is down
            app.logger.warning("rollback failed after an error")
        if is_unavailable(exc):
            app.logger.error("%s %s: a backing service is unavailable: %s", request.method, request.path,
                             type(exc).__name__)
            return unavailable_response(exc)
        app.logger.exception("unhandled error")
        return _respond(500, MESSAGES[500], "internal_error")
