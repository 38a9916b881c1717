"""The home page: real counts from what exists in the current organization."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__)

from app.dashboard import views  # noqa: E402,F401
