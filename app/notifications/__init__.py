"""Notifications: the in-app bell and the channels (webhook, e-mail) that deliver outward."""

from flask import Blueprint

bp = Blueprint("notifications", __name__, url_prefix="/notifications")

from app.notifications import delivery, views, views_channels  # noqa: E402,F401
