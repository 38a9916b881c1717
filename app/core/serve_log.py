"""A readable log for `vigil serve`: no line per successful static file. (Each scheduled
enqueue is named by its job in app/jobs/schedule.py: PeriodicScheduler.)"""

from __future__ import annotations

from typing import Any

from werkzeug.serving import WSGIRequestHandler


class QuietStaticHandler(WSGIRequestHandler):
    """Werkzeug's request log without the successful static-file lines (errors still show)."""

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        path = getattr(self, "path", "") or ""
        if path.startswith("/static/") and str(code)[:1] in ("2", "3"):
            return
        super().log_request(code, size)
