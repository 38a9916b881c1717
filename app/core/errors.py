"""Error pages (HTML) and JSON errors with stable codes (API), never a stack trace."""

from __future__ import annotations

import uuid

from flask import Flask, jsonify, make_response, render_template
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException

from app.core.guard import wants_json

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


def _respond(status: int, message: str, code: str):
    if wants_json():
        return jsonify(error={"code": code, "message": message}), status
    return render_template("errors/error.html", status=status, message=message), status


def record_access_denied() -> None:
    """A refused request by a signed-in user is a security event (bursts are a threat)."""
    from flask import request
    from flask_login import current_user

    from app.auth.events import record_event
    from app.models import db

    if not getattr(current_user, "is_authenticated", False):
        return
    db.session.rollback()
    record_event("access_denied", f"{request.method} {request.path} refused for role {current_user.role}",
                 user=current_user._get_current_object(), action="deny",
                 details={"endpoint": request.endpoint, "method": request.method})
    db.session.commit()


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return _respond(400, "Your form expired or was not sent from Vigil. Reload the page and try again.", "csrf")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        if status == 403:
            record_access_denied()
        # abort(404, "...") gives its own description; otherwise use our plain wording.
        custom = exc.description and exc.description != type(exc).description
        message = exc.description if custom else MESSAGES.get(status, exc.name)
        response = make_response(_respond(status, message, (exc.name or "error").lower().replace(" ", "_")))
        # The exception's own headers (Allow on a 405, WWW-Authenticate, Retry-After) are part of the answer.
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(DataError)
    def data_error(exc: DataError):
        # The database refused a value (too long, out of range for its column): the input's
        # fault, not ours. Views validate first; this is the backstop that keeps it a 422.
        from app.models import db

        db.session.rollback()
        error_id = uuid.uuid4().hex[:12]
        app.logger.warning("value refused by the database (error id %s)", error_id, exc_info=exc)
        return _respond(422, "A value is too long, too large or not valid for what Vigil stores; nothing was "
                             f"saved (error id {error_id}).", "invalid_value")

    @app.errorhandler(Exception)
    def unhandled(exc: Exception):
        from app.models import db

        db.session.rollback()
        app.logger.exception("unhandled error")
        return _respond(500, MESSAGES[500], "internal_error")
