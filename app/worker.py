"""The worker process's own entry point for a plain RQ worker (issue 21: the composition
root, `create_app`, is imported only by entry points, never by the jobs engine).

Every job runs inside the application context its worker pushes: `vigil worker`
(app/commands.py) and the embedded worker of `vigil serve` hand their app to
`app.jobs.embedded.AppWorker`. A worker started by RQ's own command gets its app here,
built once through the factory when the worker starts:

    rq worker --worker-class app.worker.FactoryWorker high default low
"""

from __future__ import annotations

from typing import Any

from app import create_app
from app.jobs.embedded import AppWorker


class FactoryWorker(AppWorker):
    """An AppWorker that builds its own app through the factory."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.flask_app = create_app()
