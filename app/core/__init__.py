"""Cross-cutting pages and hooks: health, the sign-in guard, headers, org switch, account.

The blueprint itself lives in app/core/blueprint.py, so the modules below import it without
importing this package.
"""

# hygiene first: its hook refuses hostile input before the sign-in guard reads anything.
from app.core import hygiene, guard, views  # noqa: F401,I001  (registers routes and hooks)
from app.core.blueprint import bp as bp  # the app factory registers app.core.bp
