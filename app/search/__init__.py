"""Global search: one box in the top bar, results from every domain that registered a provider."""

from flask import Blueprint

from app.core.navigation import register_top

bp = Blueprint("search", __name__, url_prefix="/search")

register_top(("search.index", "search", "Search", "dashboard.view"), 20)

from app.search import views  # noqa: E402,F401
