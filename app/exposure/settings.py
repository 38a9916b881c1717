"""Operator settings of the exposure domain (docs/deployment.md): app config NAME, else
the environment's VIGIL_NAME, else the default, read through the shared provider `option()`."""

from __future__ import annotations

from pathlib import Path

from flask import current_app

from app.exposure.archive import Limits
from app.outbound.http import option

MB = 1024 * 1024


def max_upload_bytes() -> int:
    return int(float(option("EXPOSURE_MAX_UPLOAD_MB", 512.0)) * MB)


def max_upload_mb() -> str:
    """The upload limit as people read it (0.25, 512)."""
    return f"{float(option('EXPOSURE_MAX_UPLOAD_MB', 512.0)):g}"


def limits() -> Limits:
    return Limits(max_unpacked=int(option("EXPOSURE_MAX_UNPACKED_MB", 4096)) * MB,
                  max_ratio=int(option("EXPOSURE_MAX_RATIO", 100)),
                  max_members=int(option("EXPOSURE_MAX_MEMBERS", 50)))


def retention_hours() -> int:
    return int(option("EXPOSURE_UPLOAD_RETENTION_HOURS", 24))


def clamd_address() -> str | None:
    return option("EXPOSURE_CLAMD", None)


def storage_dir(org_id: int, kind: str) -> Path:
    """instance/exposure/<kind>/<org>: 'uploads' (sealed raw files) or 'reports' (reject lists)."""
    path = Path(current_app.instance_path) / "exposure" / kind / str(org_id)
    path.mkdir(parents=True, exist_ok=True)
    return path
