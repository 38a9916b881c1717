"""Global search: one box in the top bar, results from every domain that registered a provider."""

from app.core.navigation import register_top
from app.search.blueprint import bp as bp  # the app factory registers app.search.bp

register_top(("search.index", "search", "Search", "dashboard.view"), 20)

from app.search import views  # noqa: E402,F401
