"""The `search` blueprint, alone in its module so that the package's pages and commands
import it without importing the package (whose __init__ imports them): no import cycle."""

from flask import Blueprint

bp = Blueprint("search", __name__, url_prefix="/search")
