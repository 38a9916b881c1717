"""Notifications: the in-app bell and the channels (webhook, e-mail) that deliver outward."""

from app.core.navigation import register_section
from app.notifications.blueprint import bp as bp  # the app factory registers app.notifications.bp

# The inbox is also the top bar's bell; in the side navigation it sits with Administration.
register_section("admin", "Administration", 90, [("notifications.index", "bell", "Notifications", "dashboard.view")])

from app.notifications import delivery, digest, views, views_channels, views_routing  # noqa: E402,F401
