"""The S3-compatible target for Vigil's backups (issue 17.3): a copy of every archive goes to a
bucket (AWS S3, MinIO, Ceph, Wasabi...) and retention prunes the remote copies too.

Settings (environment, or app.config in tests): VIGIL_BACKUP_S3_ENDPOINT (e.g.
https://s3.eu-west-1.amazonaws.com or http://minio.lan:9000), VIGIL_BACKUP_S3_BUCKET,
VIGIL_BACKUP_S3_PREFIX (default "vigil/"), VIGIL_BACKUP_S3_REGION (default us-east-1),
VIGIL_BACKUP_S3_ACCESS_KEY and VIGIL_BACKUP_S3_SECRET_SEALED: the secret key sealed with
app/crypto.py (`vigil backup seal-secret` prints it), so no plaintext secret sits in the
environment or a config file. Unset endpoint or bucket: backups stay local only.
VIGIL_BACKUP_S3_MULTIPART_MB (default 64): archives at least this large go up in parts of
this size (S3's minimum part is 5 MiB, so smaller values still send 5 MiB parts) and come
back by ranged GETs, so a multi-gigabyte archive never needs one huge request.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import boto3
from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from flask import current_app

from app.crypto import decrypt_text

# Only objects named like an archive are Vigil's to prune; anything else under the prefix is left alone.
ARCHIVE_NAME = re.compile(r"^vigil-backup-\d{8}T\d{6}\d*Z\.tar\.gz(\.sealed)?$")


DEFAULT_MULTIPART_MB = 64
MIB = 1024 * 1024


class RemoteError(RuntimeError):
    """The S3 target refused or could not be reached (message for the operator)."""


@dataclass(frozen=True)
class Target:
    endpoint: str
    bucket: str
    prefix: str
    region: str
    access_key: str
    secret_key: str
    multipart_bytes: int = DEFAULT_MULTIPART_MB * MIB

    def key(self, filename: str) -> str:
        return f"{self.prefix}{filename}"


def _setting(name: str, default: str = "") -> str:
    value = current_app.config.get(name)
    return str(value) if value is not None else os.environ.get(f"VIGIL_{name}", default)


def target() -> Target | None:
    """The configured target, or None when backups are local only."""
    endpoint, bucket = _setting("BACKUP_S3_ENDPOINT"), _setting("BACKUP_S3_BUCKET")
    if not endpoint or not bucket:
        return None
    sealed = _setting("BACKUP_S3_SECRET_SEALED")
    multipart = _setting("BACKUP_S3_MULTIPART_MB", str(DEFAULT_MULTIPART_MB))
    try:
        multipart_bytes = max(1, int(float(multipart) * MIB))
    except ValueError:
        raise RemoteError(f"VIGIL_BACKUP_S3_MULTIPART_MB must be a number of MiB, not {multipart!r}") from None
    return Target(endpoint=endpoint.rstrip("/"), bucket=bucket, prefix=_setting("BACKUP_S3_PREFIX", "vigil/"),
                  region=_setting("BACKUP_S3_REGION", "us-east-1"), access_key=_setting("BACKUP_S3_ACCESS_KEY"),
                  secret_key=decrypt_text(sealed) if sealed else "", multipart_bytes=multipart_bytes)


def _client(t: Target):
    return boto3.client("s3", endpoint_url=t.endpoint, region_name=t.region, aws_access_key_id=t.access_key,
                        aws_secret_access_key=t.secret_key,
                        config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                                      retries={"max_attempts": 2}, connect_timeout=10, read_timeout=120))


def transfer_config(t: Target) -> TransferConfig:
    """Multipart above the target's threshold, in parts of that size (S3 raises parts below 5 MiB to 5 MiB)."""
    return TransferConfig(multipart_threshold=t.multipart_bytes, multipart_chunksize=max(t.multipart_bytes, 5 * MIB),
                          max_concurrency=4)


def upload(t: Target, path: Path) -> str:
    """Copy one archive to the bucket; the object key."""
    key = t.key(path.name)
    try:
        _client(t).upload_file(str(path), t.bucket, key, Config=transfer_config(t))
    except (Boto3Error, BotoCoreError, ClientError, OSError) as exc:
        raise RemoteError(f"S3 upload of {path.name} failed: {exc}") from None
    return key


def download(t: Target, filename: str, dest: Path) -> Path:
    """Fetch one archive back (restore from the remote copy when the local one is gone)."""
    try:
        _client(t).download_file(t.bucket, t.key(filename), str(dest), Config=transfer_config(t))
    except (Boto3Error, BotoCoreError, ClientError, OSError) as exc:
        raise RemoteError(f"S3 download of {filename} failed: {exc}") from None
    return dest


def archives(t: Target) -> list[str]:
    """File names of the archives under the prefix."""
    names: list[str] = []
    try:
        for page in _client(t).get_paginator("list_objects_v2").paginate(Bucket=t.bucket, Prefix=t.prefix):
            names += [obj["Key"][len(t.prefix):] for obj in page.get("Contents", [])]
    except (Boto3Error, BotoCoreError, ClientError) as exc:
        raise RemoteError(f"S3 listing failed: {exc}") from None
    return sorted(n for n in names if ARCHIVE_NAME.match(n))


def prune(t: Target, keep: set[str]) -> list[str]:
    """Delete every remote archive whose name is not in `keep`; the names deleted."""
    gone = [n for n in archives(t) if n not in keep]
    client = _client(t)
    try:
        for name in gone:
            client.delete_object(Bucket=t.bucket, Key=t.key(name))
    except (Boto3Error, BotoCoreError, ClientError) as exc:
        raise RemoteError(f"S3 delete failed: {exc}") from None
    return gone
