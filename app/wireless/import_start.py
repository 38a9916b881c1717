"""Starting an import from an uploaded file: save it, refuse it at once when it is no
importable format or names no usable source, else record the import and queue its job
(audited). The JSON API's upload calls this; it does what the Imports page's upload does.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from flask import current_app
from werkzeug.datastructures import FileStorage

from app import audit
from app.jobs import enqueue
from app.models import WirelessImport
from app.wireless import imports


def start(org_id: int, user: Any, upload: FileStorage, source_id: int | None = None,
          new_source: str | None = None) -> WirelessImport:
    """The queued import of `upload`; imports.FormatError or SourceError (nothing kept) when it
    cannot be imported. Neither a source nor a new code: a source named after the format, as
    the CLI and the page do. The caller commits (the job is pushed after the commit)."""
    filename = Path(upload.filename or "upload").name or "upload"
    path = imports.import_dir(org_id) / f"{secrets.token_hex(12)}.upload"
    upload.save(path)
    try:
        if path.stat().st_size > imports.max_upload_bytes():
            raise imports.FormatError(
                f"larger than the import limit of {current_app.config['WIRELESS_IMPORT_MAX_MB']} MB")
        fmt = imports.detect(path)
        device_type = imports.DEVICE_TYPES[fmt]
        source = imports.resolve_source(org_id, source_id or None, new_source or (None if source_id else device_type),
                                        device_type)
        imp = imports.create_import(org_id, source, path, filename, fmt, getattr(user, "id", None))
        run = enqueue("wireless.import", org_id=org_id, requested_by_id=getattr(user, "id", None), import_id=imp.id)
        imp.job_run_id = run.id
        audit.record("wireless.import_started", resource_type="wireless_import", resource_id=imp.id,
                     details={"file": filename, "format": fmt, "source": source.code, "size": imp.size_bytes,
                              "run": run.id})
    except Exception:
        # The file goes; the caller rolls back the rest (a source made for it, the row), so
        # nothing is half-saved: a refused format, a refused enqueue (the queue down), anything else.
        path.unlink(missing_ok=True)
        raise
    return imp
