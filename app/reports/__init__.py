"""Reports (issue 17): one framework for every domain's PDF and CSV reports.

Domains register builders from their own `reports.py` (app.reports.registry); this
package renders (render.py, svg.py), stores and prunes (services.py), schedules and mails
(schedules.py) and shows them (views.py).
"""

from app.core.navigation import register_section
from app.reports.blueprint import bp as bp  # the app factory registers app.reports.bp

register_section("reports", "Reports", 80, [
    ("reports.index", "file-earmark-pdf", "Reports", "reports.view"),
])

from app.reports import demo, jobs, views  # noqa: E402,F401
