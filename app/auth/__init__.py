"""Sign-in: login, logout, server-side sessions, lockout and set-password links."""

from app.auth import compliance_sources, guards, views  # noqa: F401  (registers routes and hooks)
from app.auth.blueprint import bp as bp  # the app factory registers app.auth.bp
