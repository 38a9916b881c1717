"""Importing a received breach file: read the sealed copy member by member, line by line,
and store each credential without its password, committing per batch.

Passwords exist only in memory, one batch at a time: each becomes length, classes,
strength, hint, SHA-1 prefix and HMAC, and is checked against the matched user's hash.
Nothing derived from a line's text goes to a log, a job parameter or the reject report
(which holds line numbers and reasons only). Counts: read = non-blank lines, imported = new
credentials, duplicate = credentials this organization already holds (from this or an
earlier file), rejected = unusable lines, matched = imported credentials that are the
organization's (app/exposure/matching.py).
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa

from app.alerting.events import publish
from app.exposure import clamd, keys, matching, settings
from app.exposure.archive import ArchiveError, members
from app.exposure.parse import Credential, Reject, records
from app.exposure.sealed import SealedFileError, SealedReader
from app.exposure.uploads import report_path
from app.models import db, utcnow
from app.models.exposure import BreachFileResult, UploadedBreachFile

BATCH = 5000
NO_PASSWORD = dict.fromkeys(("password_length", "password_classes", "password_strength", "password_hint",
                             "password_sha1_prefix", "password_hmac"))
ERRORS_KEPT = 100
Progress = Callable[[int, str], None]


class ImportFailed(Exception):
    """The file could not be read to the end; its message is shown on the upload."""


def summary(row: UploadedBreachFile) -> str:
    return (f"read={row.line_count} imported={row.records_count} duplicate={row.duplicate_count} "
            f"rejected={row.rejected_count} matched={row.matched_count}")


def _items(row: UploadedBreachFile, reader: SealedReader) -> Iterator[Credential | Reject]:
    offset = 0
    buffered = io.BufferedReader(reader, 1 << 20)
    for name, kind, stream in members(buffered, row.file_size, settings.limits()):
        row.detected_format = kind if not name else "zip"
        last = offset
        for item in records(stream, start=offset):
            last = item.line
            yield item
        # Lines of later zip members continue the numbering, so a line number is unique.
        offset = max(offset, last)


def describe(password: str, hmac_key: bytes) -> dict[str, Any]:
    return {
        "password_length": len(password), "password_classes": keys.classes(password),
        "password_strength": keys.strength(password), "password_hint": keys.hint(password),
        "password_sha1_prefix": keys.sha1_prefix(password), "password_hmac": keys.password_hmac(password, hmac_key),
    }


def scan(row: UploadedBreachFile) -> None:
    """Virus scan through clamd when configured; 'not scanned' otherwise (never pretended)."""
    with SealedReader(row.file_path, keys.derive(keys.UPLOAD_PURPOSE)) as reader:
        result = clamd.scan(settings.clamd_address(), iter(lambda: reader.read(1 << 20), b""))
    row.virus_scanned = result.scanned
    row.virus_scan_result = result.result
    if result.scanned and not result.clean:
        row.security_flags = {**(row.security_flags or {}), "malware": result.result}
    db.session.commit()  # the verdict stays on the row even when the import stops here
    if result.scanned and not result.clean:
        raise ImportFailed(f"ClamAV found {result.result}: the file was not imported")
    if not result.clean:
        # A scanner is configured but did not answer: fail closed rather than import unscanned.
        raise ImportFailed(f"the virus scanner did not answer ({result.result}); try again later")


def run_import(upload_pk: int, progress: Progress | None = None) -> UploadedBreachFile:
    """Import the upload; the row ends 'completed' or 'failed' (finished batches are kept,
    and importing again finds them as duplicates)."""
    row = db.session.get(UploadedBreachFile, upload_pk)
    row.processing_status, row.processing_error, row.errors = "processing", None, []
    row.line_count = row.records_count = row.duplicate_count = row.rejected_count = row.matched_count = 0
    db.session.commit()
    try:
        if not row.file_path:
            raise ImportFailed("the raw file was already deleted (it expired); upload it again")
        scan(row)
        _run(row, progress)
    except (ImportFailed, ArchiveError, SealedFileError, EOFError, OSError) as exc:
        db.session.rollback()
        row = db.session.get(UploadedBreachFile, upload_pk)
        row.processing_status, row.processing_error = "failed", str(exc)[:2000]
        db.session.commit()
        return row
    except BaseException as exc:
        # Cancelled, or a bug: the row must not stay "processing" (finished batches are kept).
        db.session.rollback()
        row = db.session.get(UploadedBreachFile, upload_pk)
        row.processing_status = "failed"
        row.processing_error = f"The import stopped: {type(exc).__name__}"[:2000]
        db.session.commit()
        raise
    row.processing_status, row.indexed = "completed", True
    db.session.commit()
    return row


def _run(row: UploadedBreachFile, progress: Progress | None) -> None:
    directory = matching.load(row.org_id)
    hmac_key = keys.password_hmac_key()
    kept: list[dict[str, Any]] = []
    leaked: dict[int, int] = {}  # user id -> line of the first credential holding their password
    with open(report_path(row), "w", newline="", encoding="utf-8") as fh, \
            SealedReader(row.file_path, keys.derive(keys.UPLOAD_PURPOSE)) as reader:
        report = csv.writer(fh)
        report.writerow(["line", "reason"])
        items = _items(row, reader)
        while batch := list(itertools.islice(items, BATCH)):
            new: dict[str, dict[str, Any]] = {}
            for item in batch:
                row.line_count += 1
                if isinstance(item, Reject):
                    row.rejected_count += 1
                    report.writerow([item.line, item.reason])
                    if len(kept) < ERRORS_KEPT:
                        kept.append({"line": item.line, "reason": item.reason})
                    continue
                # Every row has the same keys (None without a password): one INSERT per batch.
                described = describe(item.password, hmac_key) if item.password is not None else NO_PASSWORD
                key = keys.keyed_digest(hmac_key, item.identity, described["password_hmac"] or "")
                if key in new:
                    row.duplicate_count += 1
                    continue
                reason, user_id = directory.match(item.email, item.username)
                in_use = bool(user_id and item.password
                              and matching.password_in_use(directory, user_id, item.password))
                if in_use:
                    leaked.setdefault(user_id, item.line)
                new[key] = {
                    "org_id": row.org_id, "uploaded_file_id": row.id, "line_number": item.line,
                    "email": item.email, "email_domain": item.email.rsplit("@", 1)[1] if item.email else None,
                    "username": item.username, "credential_key": key, "additional_data": {},
                    "matched": reason is not None, "match_reason": reason, "user_id": user_id,
                    "password_in_use": in_use, **described,
                }
                item.password = None  # gone from this batch as soon as it is described
            _store(row, new, leaked)
            row.errors = list(kept)
            db.session.commit()
            if progress:
                progress(min(99, reader.tell() * 100 // max(row.file_size, 1)), summary(row))
    for user_id, line in leaked.items():
        matching.leaked_password_found(row.org_id, user_id, row.id, line)


def _store(row: UploadedBreachFile, new: dict[str, dict[str, Any]], leaked: dict[int, int]) -> None:
    """Insert the batch's credentials this organization does not hold yet."""
    if not new:
        return
    known = set(db.session.scalars(sa.select(BreachFileResult.credential_key).where(
        BreachFileResult.org_id == row.org_id, BreachFileResult.credential_key.in_(list(new)))))
    fresh = [values for key, values in new.items() if key not in known]
    row.duplicate_count += len(new) - len(fresh)
    for values in new.values():
        if values["credential_key"] in known and values["password_in_use"]:
            # Already reported when it was first imported: notified once.
            leaked.pop(values["user_id"], None)
    if fresh:
        now = utcnow()
        # Core insert: the ORM's bulk path leaves None-valued keys out and so splits a batch
        # into one statement per key pattern; the table's insert is one executemany.
        db.session.execute(BreachFileResult.__table__.insert(), [
            {**v, "created_at": now, "updated_at": now, "is_active": True} for v in fresh])
        # Core inserts pass no ORM flush, so the indicator matcher is told (app/exposure/intel_places.py).
        publish("exposure.credentials_stored", org_id=row.org_id, upload_id=row.id,
                emails=sorted({v["email"] for v in fresh if v["email"]}))
    row.records_count += len(fresh)
    row.matched_count += sum(1 for v in fresh if v["matched"])
