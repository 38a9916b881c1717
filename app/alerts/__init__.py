"""One Alerts page across every domain: filters, bulk acknowledge, one alert with its
actions and a link to its object. Domains plug in through app.alerting.registry."""

from app.alerts.blueprint import bp as bp  # the app factory registers app.alerts.bp
from app.core.navigation import register_top

register_top(("alerts.index", "exclamation-triangle", "Alerts", "data.read"), 10)

from app.alerts import views, views_rules  # noqa: E402,F401
