"""Wireless imports: save an upload, start the job, and run an import (the job and the CLI
both call `run_import`).

A run reads the file in batches of BATCH records through its format's streaming reader and
hands each batch to the one writer (importers/writer.py), committing per batch like
rescoring does: a long import holds no long transaction, progress and counts are visible as
it goes, and a failed import keeps its finished batches (importing the file again adds only
the rest, because observations dedupe on their natural key). On PostgreSQL the networks and
ssid_history aggregates are folded in bulk (at the end, every FOLD_ROWS rows, and before a
stopped run says failed; a run whose process died is folded by the next run in its
organization). Rejected rows go to a CSV error report under instance/ as they are met (line,
reason); the row keeps the first ERRORS_KEPT.
"""

from __future__ import annotations

import contextlib
import csv
import gc
import hashlib
import itertools
import logging
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import sqlalchemy as sa
from flask import current_app

from app.jobs.runner import JobCancelled, log_failure
from app.models import db, utcnow
from app.models.wireless import DeviceSource, WirelessImport
from app.wireless import rescore
from app.wireless.importers import (
    DEVICE_TYPES,
    FORMAT_LABELS,
    FormatError,
    Reject,
    Sighting,
    detect,
    open_records,
)
from app.wireless.importers.writer import BatchResult, Writer, fold_import

BATCH = 20_000  # rows per batch and commit: see docs/architecture.md "Importing" for the measurements
# PostgreSQL folds an import's new rows into networks and ssid_history at its end and at least
# every FOLD_ROWS rows (a network's row is rewritten once per fold, not once per batch).
FOLD_ROWS = 1_000_000
# Text files are parsed one batch ahead in a thread while PostgreSQL stores the previous one
# (psycopg releases the GIL while it waits on the server). SQLite files keep their reader in
# the importing thread (sqlite3 connections belong to the thread that opened them).
READ_AHEAD_FORMATS = ("wigle_csv", "kismet_netxml")
ERRORS_KEPT = 100
# While an import runs, Python's young-generation collection runs every YOUNG_GC allocations
# instead of every 700: each batch allocates ~20,000 sightings that are all still alive (so a
# collection frees nothing), and the collections that walked them, and every tenth one the
# older generations, cost ~2 us of the importing process's CPU per row. Memory stays flat:
# those objects are freed by reference counting as each batch is written.
YOUNG_GC = 100_000
# A value the database refuses (out of range, invalid text, a constraint): that row's fault.
# PostgreSQL batches go through psycopg's own cursor (COPY), so its errors come unwrapped.
DATA_ERRORS = (sa.exc.DataError, sa.exc.IntegrityError, psycopg.DataError, psycopg.IntegrityError, OverflowError)
log = logging.getLogger(__name__)
T = TypeVar("T")


class SourceError(ValueError):
    """The device source asked for cannot be used (unknown, or a new code that is invalid)."""


def batched(items: Iterable[T], size: int = BATCH) -> Iterator[list[T]]:
    """Lists of at most `size` items, pulling only one list's worth ahead (flat memory)."""
    it = iter(items)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def read_ahead(batches: Iterator[list[T]]) -> Iterator[list[T]]:
    """The same batches, the next one read in a thread while the caller works on the current one.

    At most two batches wait beside the one in hand (flat memory). A reader error is raised
    here, in the caller's thread; a caller that stops early (cancel, error) stops the thread
    before this generator returns, so nothing reads the file after its owner closed it."""
    ready: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def produce() -> None:
        try:
            for batch in batches:
                while not stop.is_set():
                    try:
                        ready.put(("batch", batch), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            item: tuple[str, Any] = ("end", None)
        except BaseException as exc:  # noqa: BLE001 - handed to the consuming thread, raised there
            item = ("error", exc)
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    thread = threading.Thread(target=produce, name="wireless-import-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = ready.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        thread.join()


def import_dir(org_id: int) -> Path:
    path = Path(current_app.instance_path) / "wireless" / "imports" / str(org_id)
    path.mkdir(parents=True, exist_ok=True)
    return path


def error_report_path(imp: WirelessImport) -> Path:
    return import_dir(imp.org_id) / f"{imp.id}-errors.csv"


def max_upload_bytes() -> int:
    return int(float(current_app.config["WIRELESS_IMPORT_MAX_MB"]) * 1024 * 1024)


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def resolve_source(org_id: int, source_id: int | None = None, new_code: str | None = None,
                   device_type: str = "wigle") -> DeviceSource:
    """An existing source of this organization, or a new one with `new_code` (found if it exists)."""
    if new_code:
        code = new_code.strip()
        if not code or len(code) > 64 or not all(c.isalnum() or c in "-_." for c in code):
            raise SourceError("A source code is 1-64 letters, digits, '-', '_' or '.'.")
        found = db.session.scalar(sa.select(DeviceSource).where(DeviceSource.org_id == org_id,
                                                                DeviceSource.code == code))
        if found:
            return found
        source = DeviceSource(org_id=org_id, code=code, name=code, device_type=device_type)
        db.session.add(source)
        db.session.flush()
        return source
    if source_id:
        found = db.session.scalar(sa.select(DeviceSource).where(DeviceSource.org_id == org_id,
                                                                DeviceSource.id == source_id))
        if found:
            return found
    raise SourceError("Choose a device source or name a new one.")


def create_import(org_id: int, source: DeviceSource, path: Path, filename: str, fmt: str,
                  user_id: int | None, stored: bool = True) -> WirelessImport:
    """The import's row (status queued), before its job or CLI run starts."""
    imp = WirelessImport(org_id=org_id, source_id=source.id, filename=filename[:255],
                         stored_path=str(path) if stored else None, format=fmt,
                         size_bytes=path.stat().st_size, sha256=file_digest(path), status="queued",
                         created_by_id=user_id, errors=[])
    db.session.add(imp)
    db.session.flush()
    return imp


def summary(imp: WirelessImport) -> str:
    text = (f"{imp.rows_read} read, {imp.rows_imported} imported, {imp.rows_duplicate} duplicate, "
            f"{imp.rows_rejected} rejected, {imp.networks_touched} network(s) updated")
    if imp.rows_time_unknown:
        text += (f"; {imp.rows_time_unknown} sighting(s) stamped before 2000 (no clock fix) kept with "
                 "their time unknown")
    return text


def saved_text(imp: WirelessImport) -> str:
    """What is in the database after a run that stopped early (its batches are committed)."""
    if not imp.rows_imported:
        return "nothing was saved"
    return (f"{imp.rows_imported} row(s) of {imp.rows_read} read were saved; importing the file again "
            "adds only the rest")


def run_import(import_id: int, path: Path | None = None,
               progress: Callable[[int, str], None] | None = None) -> WirelessImport:
    """Read the import's file and store it, committing per batch; the row ends succeeded or failed.

    Its message never holds SQL, parameters or a trace: an unexpected error is logged with an
    error id and the message names that id and what was saved."""
    imp = db.session.get(WirelessImport, import_id)
    path = Path(path or imp.stored_path)
    source = db.session.get(DeviceSource, imp.source_id)
    # A retried run starts its counts afresh (what the first run stored is found again as
    # duplicates, so the totals stay right).
    imp.status, imp.message, imp.finished_at, imp.errors = "running", None, None, []
    imp.rows_read = imp.rows_imported = imp.rows_duplicate = imp.rows_rejected = imp.networks_touched = 0
    imp.rows_time_unknown = 0
    db.session.commit()
    fold_leftovers(imp.org_id, imp.id)
    try:
        _run(imp, source, path, progress)
    except FormatError as exc:
        db.session.rollback()
        _fold_quietly(import_id)
        imp.status, imp.finished_at = "failed", utcnow()
        imp.message = f"{imp.filename}: {exc}; {saved_text(imp)}."
        db.session.commit()
        return imp
    except JobCancelled:
        db.session.rollback()
        _fold_quietly(import_id)
        imp.status, imp.finished_at = "failed", utcnow()
        imp.message = f"Cancelled at {imp.rows_read} rows read; {saved_text(imp)}."
        db.session.commit()
        raise
    except BaseException:
        db.session.rollback()
        _fold_quietly(import_id)
        error_id = log_failure(log, f"wireless import {import_id} stopped")
        imp.status, imp.finished_at = "failed", utcnow()
        imp.message = (f"The import stopped on an unexpected error (error id {error_id}, details in the "
                       f"server log); {saved_text(imp)}.")
        db.session.commit()
        raise
    return imp


def fold_leftovers(org_id: int, import_id: int | None = None) -> None:
    """PostgreSQL: fold the rows a stopped run committed but did not fold (its process died
    between a batch and the fold), for this import and for the organization's other imports
    that are not running; then commit. SQLite folds every batch, so it never has any."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    ids = db.session.scalars(sa.select(WirelessImport.id).where(
        WirelessImport.org_id == org_id, WirelessImport.fold_pending.is_(True),
        sa.or_(WirelessImport.id == import_id, WirelessImport.status.not_in(("queued", "running"))))
        .order_by(WirelessImport.id)).all()
    for pending_id in ids:
        fold_import(pending_id)
        db.session.commit()


def _fold_quietly(import_id: int) -> None:
    """After a run stopped: fold what its committed batches added, so the networks match the
    observations; if the database refuses now (it may be what stopped the run), the next
    run in the organization folds them (fold_leftovers)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    try:
        fold_import(import_id)
        db.session.commit()
    except Exception:  # noqa: BLE001 - the run's own failure is what gets reported
        db.session.rollback()
        log_failure(log, f"folding wireless import {import_id} after it stopped failed; the next import folds it")


def score_touched(imp: WirelessImport, progress: Callable[[int, str], None] | None = None) -> None:
    """Score the networks a finished import touched (the job and the CLI call it last), so none
    waits "unscored" for the periodic rescore. Scoring takes the organization's dirty networks,
    which are these plus any others still waiting."""
    if imp.status != "succeeded" or not imp.networks_touched:
        return
    def report(done: int, total: int) -> None:
        if progress:
            progress(99, f"Scoring networks: {done} of {total}")

    try:
        rescore.rescore(imp.org_id, progress=report)
    except JobCancelled:
        # The import itself is complete; what is left unscored the periodic rescore takes.
        db.session.rollback()
        imp.message = f"{imp.message} Scoring was cancelled; the periodic rescore will finish it."
        db.session.commit()
    except Exception:  # noqa: BLE001 - the import is complete; the periodic job scores later
        db.session.rollback()
        error_id = log_failure(log, f"scoring after wireless import {imp.id} failed")
        imp.message = f"{imp.message} Scoring failed (error id {error_id}); the periodic rescore will retry."
        db.session.commit()


def store(writer: Writer, batch: list[Sighting]) -> tuple[BatchResult, list[Reject]]:
    """Write a batch; when the database refuses it for a value (what the column checks did not
    foresee), write its halves apart until the refused rows are found, and reject those. A
    database that is down is no row's fault: that error goes up."""
    try:
        with db.session.begin_nested():
            return writer.write(batch), []
    except DATA_ERRORS:
        writer.forget()  # network ids inserted inside the rolled-back savepoint are gone
        if len(batch) == 1:
            error_id = log_failure(log, f"row at line {batch[0].line} refused by the database")
            return BatchResult(), [Reject(batch[0].line, f"the database refused a value (error id {error_id})")]
    middle = len(batch) // 2
    total, rejects = BatchResult(), []
    for half in (batch[:middle], batch[middle:]):
        result, refused = store(writer, half)
        total.imported += result.imported
        total.duplicate += result.duplicate
        total.networks |= result.networks
        rejects += refused
    return total, rejects


class FewerCollections:
    """Collect the young generation every `young` allocations (not fewer than before) while
    at least one import runs; the thresholds the process had are put back when the last one
    ends. Counted, so overlapping imports (embedded mode runs jobs in threads) cannot leave
    the raised threshold behind. The setting is the process's: web threads share it while an
    import runs, which changes only how often cyclic garbage is looked for, not what is freed."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active = 0
        self.before: tuple[int, ...] = gc.get_threshold()

    @contextlib.contextmanager
    def __call__(self, young: int = YOUNG_GC) -> Iterator[None]:
        with self.lock:
            if self.active == 0:
                self.before = gc.get_threshold()
                gc.set_threshold(max(self.before[0], young), *self.before[1:])
            self.active += 1
        try:
            yield
        finally:
            with self.lock:
                self.active -= 1
                if self.active == 0:
                    gc.set_threshold(*self.before)


fewer_collections = FewerCollections()


def _run(imp: WirelessImport, source: DeviceSource, path: Path, progress) -> None:
    mark_key = imp.format
    after_id = int((source.import_marks or {}).get(mark_key, 0)) if imp.format == "wigle_sqlite" else 0
    writer = Writer(imp.org_id, source.id, imp.id, source_tag=source.code)
    touched: set[int] = set()
    kept: list[dict[str, Any]] = []
    last_line = after_id
    report = error_report_path(imp)
    with open(report, "w", newline="", encoding="utf-8") as fh, \
            open_records(path, imp.format, after_id=after_id) as (records, fraction):
        errors = csv.writer(fh)
        errors.writerow(["line", "reason"])

        def reject(item: Reject) -> None:
            errors.writerow(item)
            imp.rows_rejected += 1
            if len(kept) < ERRORS_KEPT:
                kept.append({"line": item.line, "reason": item.reason})

        batches = batched(records, BATCH)
        if writer.dialect == "postgresql" and imp.format in READ_AHEAD_FORMATS:
            batches = read_ahead(batches)
        # Closed on every way out, so a read-ahead thread stops before the file closes.
        with contextlib.closing(batches), fewer_collections():
            for batch in batches:
                sightings, unknown = [], 0  # counted here, not on the ORM row per sighting
                for item in batch:
                    if isinstance(item, Reject):
                        reject(item)
                    else:
                        sightings.append(item)
                        unknown += item.time_unknown
                imp.rows_time_unknown += unknown
                last_line = max(last_line, max(item.line for item in batch))
                result, refused = store(writer, sightings)
                for item in refused:
                    reject(item)
                touched |= result.networks
                imp.rows_read += len(batch)
                imp.rows_imported += result.imported
                imp.rows_duplicate += result.duplicate
                imp.networks_touched = len(touched)
                imp.errors = list(kept)
                db.session.commit()
                if writer.pending >= FOLD_ROWS:
                    writer.flush()
                    db.session.commit()
                if progress:
                    progress(min(99, int(fraction(last_line) * 100)), summary(imp))
    if imp.format == "wigle_sqlite" and last_line > after_id:
        # Incremental: the next backup of this source is read from the row after this one.
        source.import_marks = {**(source.import_marks or {}), mark_key: last_line}
    writer.flush()  # in the same commit as "succeeded": a finished import is a folded one
    imp.status, imp.finished_at = "succeeded", utcnow()
    imp.message = summary(imp)
    if imp.rows_read == 0:
        imp.message = ("Nothing new in this file for this source." if after_id
                       else "The file has no rows to import.")
    db.session.commit()


def label(fmt: str | None) -> str:
    return FORMAT_LABELS.get(fmt or "", fmt or "unknown")


__all__ = ["BATCH", "DEVICE_TYPES", "FOLD_ROWS", "FormatError", "SourceError", "batched", "create_import", "detect",
           "error_report_path", "fold_leftovers", "label", "read_ahead", "resolve_source", "run_import", "saved_text",
           "score_touched", "store", "summary"]
