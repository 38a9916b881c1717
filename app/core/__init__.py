"""Cross-cutting pages and hooks: health, the sign-in guard, headers, org switch, account."""

from flask import Blueprint

bp = Blueprint("core", __name__)

# hygiene first: its hook refuses hostile input before the sign-in guard reads anything.
from app.core import hygiene, guard, views  # noqa: E402,F401,I001  (registers routes and hooks)
