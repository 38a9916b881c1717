"""Render a whole page, or one named block of it when htmx asks for a fragment."""

from __future__ import annotations

from typing import Any

from flask import current_app, redirect, url_for
from jinja2_fragments import render_block

from app.htmx import hx_redirect, is_htmx, wants_fragment

# Invalid forms come back with this status; htmx is told to swap it by the htmx-config meta
# tag in templates/base.html.
INVALID_FORM_STATUS = 422


def render_page(template: str, block: str | None = None, status: int = 200, **context: Any):
    """The full page, or only `block` for an htmx fragment request.

    The view names the single block it allows; permission checks happen in the view.
    `status` is the HTTP status only: pass filter values under other names.
    """
    from flask import render_template

    if not isinstance(status, int):
        raise TypeError(f"render_page status must be an HTTP status code, got {status!r}")
    if block and wants_fragment():
        html = render_block(current_app.jinja_env, template, block, **_with_globals(context))
        return html, status
    return render_template(template, **context), status


def _with_globals(context: dict[str, Any]) -> dict[str, Any]:
    # render_block skips Flask's context processors; run them so blocks see the same names.
    merged: dict[str, Any] = {}
    current_app.update_template_context(merged)
    merged.update(context)
    return merged


def redirect_after_post(endpoint: str, **values: Any):
    """303 See Other for plain forms; HX-Redirect for htmx posts (post/redirect/get)."""
    url = url_for(endpoint, **values)
    if is_htmx():
        response = current_app.response_class(status=204)
        return hx_redirect(response, url)
    return redirect(url, code=303)
