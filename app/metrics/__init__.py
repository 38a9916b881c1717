"""Security metrics mapped to NIST CSF 2.0: framework reference, metrics, values, scores."""

from flask import Blueprint

bp = Blueprint("metrics", __name__, url_prefix="/metrics")

from app.metrics import cli, demo, jobs, views, views_catalogs  # noqa: E402,F401
