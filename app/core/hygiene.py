"""Input hygiene: one layer in front of every view refuses what no view can store safely.

A NUL byte or a lone surrogate in a query string, form field, file name, path or JSON
string (keys included) is refused with 400 before any view runs: PostgreSQL cannot store
NUL in text, and a lone surrogate cannot be encoded as UTF-8. JSON bodies are capped in
size and nesting depth (checked on the raw bytes, before the parser could recurse), and
NaN, Infinity or a number too large for a float are refused. An integer path parameter
outside BIGINT is a 404 (no row can have that id). Views still validate their own fields
(lengths, ranges against their columns, enums); this layer only removes the class of
input that would otherwise reach the database driver and end in a 500.

A view that accepts a smaller body marks itself with `@body_limit(bytes)`: the limit is
set before the body is read, so a larger body is a 413.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from itertools import accumulate
from typing import Any

from flask import current_app, request
from werkzeug.exceptions import BadRequest, NotFound

from app.core.blueprint import bp

JSON_MAX_BYTES = 1024 * 1024  # any JSON body; a view may set a smaller @body_limit
JSON_MAX_DEPTH = 32
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
# NUL, and the UTF-16 surrogate range (only reachable through JSON's \ud800 escapes or a
# decoder's surrogateescape; never valid text).
FORBIDDEN = re.compile("[\x00\ud800-\udfff]")
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


class HostileInput(BadRequest):
    """A value no view can store: answered 400 with `description` by the error handlers."""


def body_limit(max_bytes: int) -> Callable:
    """Mark a view as accepting at most `max_bytes` of body (413 above)."""

    def mark(view: Callable) -> Callable:
        view.max_body_bytes = max_bytes  # type: ignore[attr-defined]  (copied by functools.wraps)
        return view

    return mark


def bad_text(value: str) -> bool:
    """True when `value` holds a NUL byte or a lone surrogate."""
    return FORBIDDEN.search(value) is not None


def json_depth(raw: bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON document, without parsing it
    (strings removed first, so brackets inside them do not count)."""
    brackets = _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    return max(accumulate(1 if b in b"[{" else -1 for b in brackets))


def _walk_json(value: Any, path: str) -> str | None:
    """The path of the first hostile value in parsed JSON, or None."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if bad_text(item):
                return where
        elif isinstance(item, float):
            if not math.isfinite(item):
                return where
        elif isinstance(item, dict):
            for key, child in item.items():
                if bad_text(key):
                    return where
                stack.append((child, f"{where}.{key}"))
        elif isinstance(item, list):
            stack.extend((child, f"{where}[{i}]") for i, child in enumerate(item))
    return None


def _first_bad(pairs: Iterable[tuple[str, str]]) -> str | None:
    for key, value in pairs:
        if bad_text(key) or bad_text(value):
            return key
    return None


def check_json() -> None:
    """Pre-check a JSON body, then parse it once (views read the cached result)."""
    raw = request.get_data(cache=True)  # 413 above the limit set by apply_body_limits
    if not raw:
        return
    if json_depth(raw) > JSON_MAX_DEPTH:
        raise HostileInput(f"The JSON body is nested more than {JSON_MAX_DEPTH} levels deep.")
    data = request.get_json(silent=True)  # invalid JSON stays None: each view answers it
    where = _walk_json(data, "body") if data is not None else None
    if where is not None:
        raise HostileInput(f"{where} holds a NUL byte, a lone surrogate or a number that is not finite.")


@bp.app_url_value_preprocessor
def apply_body_limits(endpoint: str | None, _values) -> None:
    """The view's own body limit, and the JSON cap, set before anything reads the body (URL
    value preprocessors run before every before_request hook, CSRF's form parsing included)."""
    limit = getattr(current_app.view_functions.get(endpoint or ""), "max_body_bytes", None)
    if limit is not None:
        request.max_content_length = limit
    if request.is_json:
        current = request.max_content_length
        request.max_content_length = JSON_MAX_BYTES if current is None else min(current, JSON_MAX_BYTES)


@bp.before_app_request
def refuse_hostile_input():
    """400 for NUL bytes and lone surrogates anywhere in the request; JSON depth and values."""
    if any("\x00" in value for value in request.headers.values()):
        raise HostileInput("A request header holds a NUL byte.")
    if bad_text(request.path):
        raise HostileInput("The address holds a NUL byte or an invalid character.")
    for value in (request.view_args or {}).values():
        if isinstance(value, int) and not BIGINT_MIN <= value <= BIGINT_MAX:
            raise NotFound()
    bad = _first_bad(request.args.items(multi=True))
    if bad is not None:
        raise HostileInput(f"The query parameter {bad[:40]!r} holds a NUL byte or an invalid character.")
    if request.is_json:
        check_json()
        return None
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and request.mimetype in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        bad = _first_bad(request.form.items(multi=True))
        if bad is None:
            bad = _first_bad((key, f.filename or "") for key, f in request.files.items(multi=True))
        if bad is not None:
            raise HostileInput(f"The field {bad[:40]!r} holds a NUL byte or an invalid character.")
    return None

