"""The worker's entry point (app/worker.py, issue 21): a worker started by RQ's own command
builds its app through the factory; a job given no app is refused, naming how to run it."""

from __future__ import annotations

import pytest

from app import worker as worker_entry
from app.jobs import enqueue
from app.jobs.queue import QUEUE_NAMES
from app.jobs.runner import NoAppContext, execute
from app.jobs.schedule import start_periodic
from app.models import JobRun, db
from tests.test_jobs import site_count  # also registers the test.make_sites job


def test_a_plain_rq_worker_builds_its_app_through_the_factory(app, db_session, redis_conn, orgs, monkeypatch):
    built = []
    monkeypatch.setattr(worker_entry, "create_app", lambda: built.append(app) or app)
    run = enqueue("test.make_sites", org_id=orgs.a.org.id, count=2)
    db.session.commit()
    worker = worker_entry.FactoryWorker(list(QUEUE_NAMES), connection=app.extensions["vigil_redis"])
    assert built == [app] and worker.flask_app is app
    worker.work(burst=True, logging_level="WARNING")
    db.session.expire_all()
    assert db.session.get(JobRun, run.id).status == "succeeded"
    assert site_count(orgs.a.org.id) == 2


def test_a_job_given_no_app_is_refused_naming_how_to_run_it():
    with pytest.raises(NoAppContext, match="vigil worker"):
        execute(1)
    with pytest.raises(NoAppContext, match="app.worker.FactoryWorker"):
        start_periodic("platform.prune")
