"""Receiving a breach file: seal it at rest while hashing it, recognise a file already
imported (same SHA-256 in the organization), and delete raw files once they expire.

The page and `vigil exposure import-breach` both call `receive()`, then the import runs
(app/exposure/importer.py) from the sealed copy, in an RQ job or in-process for the CLI.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

import sqlalchemy as sa

from app.exposure import keys, settings
from app.exposure.archive import SNIFF, ArchiveError, kind_of
from app.exposure.sealed import SealedWriter
from app.models import db, utcnow
from app.models.exposure import UploadedBreachFile

MIME = {"text": "text/plain", "zip": "application/zip", "gzip": "application/gzip"}


class UploadRefused(ValueError):
    """The file is refused before anything is stored (message for the page or the CLI)."""


class AlreadyImported(Exception):
    """The same file (SHA-256) was imported before in this organization."""

    def __init__(self, upload: UploadedBreachFile):
        super().__init__(f"identical to upload #{upload.id} ({upload.filename})")
        self.upload = upload


def chunks_of(stream: BinaryIO, size: int = 1 << 20) -> Iterator[bytes]:
    while chunk := stream.read(size):
        yield chunk


def find_identical(org_id: int, digest: str) -> UploadedBreachFile | None:
    return db.session.scalar(sa.select(UploadedBreachFile).where(
        UploadedBreachFile.org_id == org_id, UploadedBreachFile.content_hash == digest,
        UploadedBreachFile.deleted_at.is_(None)))


def receive(org_id: int, user_id: int | None, filename: str, chunks: Iterable[bytes]) -> UploadedBreachFile:
    """Seal the upload, refuse it when too large, not text/zip/gzip or already imported, and
    add its row (pending). The caller commits and starts the import."""
    upload_id = str(uuid.uuid4())
    path = settings.storage_dir(org_id, "uploads") / f"{upload_id}.sealed"
    limit = settings.max_upload_bytes()
    digest = hashlib.sha256()
    size = 0
    head = b""
    try:
        with SealedWriter(path, keys.derive(keys.UPLOAD_PURPOSE)) as writer:
            for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise UploadRefused(f"larger than the upload limit of {settings.max_upload_mb()} MB "
                                        "(VIGIL_EXPOSURE_MAX_UPLOAD_MB)")
                if len(head) < SNIFF:
                    head += chunk[:SNIFF - len(head)]
                digest.update(chunk)
                writer.write(chunk)
        if size == 0:
            raise UploadRefused("the file is empty")
        try:
            kind = kind_of(head)
        except ArchiveError as exc:
            raise UploadRefused(str(exc)) from None
        existing = find_identical(org_id, digest.hexdigest())
        if existing is not None:
            raise AlreadyImported(existing)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    now = utcnow()
    row = UploadedBreachFile(
        org_id=org_id, upload_id=upload_id, user_id=user_id, filename=Path(filename).name[:255] or "upload",
        file_size=size, file_path=str(path), storage_location="local", content_hash=digest.hexdigest(),
        mime_type=MIME[kind], processing_status="pending", uploaded_at=now,
        expires_at=now + timedelta(hours=settings.retention_hours()), errors=[], security_flags={},
        virus_scan_result="not scanned")
    db.session.add(row)
    db.session.flush()
    return row


# An import still "processing" this long after its file expired is taken as dead (its worker
# was killed): the raw file goes anyway.
STUCK_GRACE = timedelta(hours=6)


def expired(now):
    return sa.and_(UploadedBreachFile.raw_deleted_at.is_(None), UploadedBreachFile.expires_at <= now,
                   sa.or_(UploadedBreachFile.processing_status != "processing",
                          UploadedBreachFile.expires_at <= now - STUCK_GRACE))


def has_expired_uploads() -> bool:
    """Whether the periodic cleanup has a raw file to delete."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(UploadedBreachFile).where(
        expired(utcnow()))) > 0


def delete_expired(now=None) -> int:
    """Delete expired raw files (derived rows stay until the upload itself is deleted)."""
    now = now or utcnow()
    rows = db.session.scalars(sa.select(UploadedBreachFile).where(expired(now))).all()
    for row in rows:
        delete_raw(row, now)
    return len(rows)


def delete_raw(row: UploadedBreachFile, now=None) -> None:
    if row.file_path:
        Path(row.file_path).unlink(missing_ok=True)
    row.file_path = None
    row.raw_deleted_at = now or utcnow()


def report_path(row: UploadedBreachFile) -> Path:
    """The full reject list (line number, reason) of an upload."""
    return settings.storage_dir(row.org_id, "reports") / f"{row.upload_id}-rejects.csv"
