"""Embedded mode shares one SQLite file between the web threads and the worker thread.

A form post that reads before it writes must wait for the worker's write lock rather than
fail: a deferred transaction whose snapshot went stale is answered "database is locked" at
once, without the busy timeout (a fresh `make run` refused the first sign-in with a 503).
"""

from __future__ import annotations

import threading

import fakeredis
import sqlalchemy as sa
from rq.job import Job

from app import sqlite_begin_statement


def make_engine(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'embedded.db'}", connect_args={"timeout": 10})
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
        conn.exec_driver_sql("INSERT INTO counter (id, n) VALUES (1, 0)")
    return engine


def increment(engine, done: threading.Event) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE counter SET n = n + 1 WHERE id = 1")
    done.set()


def as_worker_job(engine, done: threading.Event) -> None:
    """Run `increment` the way the embedded worker runs a job (inside RQ's job context)."""
    Job.create(increment, args=(engine, done), connection=fakeredis.FakeRedis()).perform()


def test_a_form_post_that_reads_then_writes_waits_for_the_worker(app, tmp_path):
    engine = make_engine(tmp_path)
    done = threading.Event()
    with app.test_request_context("/auth/login", method="POST"), engine.connect() as conn:
        with conn.begin():
            assert conn.exec_driver_sql("SELECT n FROM counter").scalar() == 0
            worker = threading.Thread(target=as_worker_job, args=(engine, done))
            worker.start()
            # The worker cannot commit while this post holds the write lock it took up front.
            assert not done.wait(0.5)
            conn.exec_driver_sql("UPDATE counter SET n = n + 10 WHERE id = 1")
        worker.join(10)
    assert done.is_set()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT n FROM counter").scalar() == 11
    engine.dispose()


def test_page_loads_stay_deferred_readers(app):
    with app.test_request_context("/", method="GET"):
        assert sqlite_begin_statement() == "BEGIN"
    with app.test_request_context("/auth/login", method="POST"):
        assert sqlite_begin_statement() == "BEGIN IMMEDIATE"
    assert sqlite_begin_statement() == "BEGIN"  # the CLI's readers (e.g. a backup's checks)
    job = Job.create(sqlite_begin_statement, connection=fakeredis.FakeRedis())
    assert job.perform() == "BEGIN IMMEDIATE"  # a worker job writes
