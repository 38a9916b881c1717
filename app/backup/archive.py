"""One archive of Vigil: the database dump plus instance/ files, with a manifest.

Layout of the tar (gzip): `manifest.json`, `db/vigil.dump` (pg_dump custom format) or
`db/vigil.sqlite3` (SQLite's online backup API), and `instance/...`. The manifest holds
the SHA-256 of every other member, Vigil's version and the database's migration head(s).
The whole tar may then be sealed (sealing.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app

from app.backup import sealing
from app.models import db

FORMAT = 1
# Never copied: the backups themselves, and what is rebuilt (caches) or lives elsewhere.
SKIP_DIRS = {"backups", "__pycache__", "tmp"}


class ArchiveError(Exception):
    """The archive cannot be written or read; the message says why, for an operator."""


@dataclass
class Built:
    path: Path
    sha256: str
    size: int
    manifest: dict[str, Any]


def vigil_version() -> str:
    try:
        return metadata.version("vigil")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def db_heads(bind: Any = None) -> list[str]:
    """The migration head(s) recorded in the database (alembic_version)."""
    conn = bind or db.session
    return sorted(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def libpq_env(url: sa.URL) -> tuple[str, dict[str, str]]:
    """A libpq connection string without the password, and an environment carrying it
    (a password on a command line is visible to every user of the machine)."""
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def dump_database(url: sa.URL, dest_dir: Path) -> Path:
    if url.get_backend_name() == "postgresql":
        target = dest_dir / "vigil.dump"
        conninfo, env = libpq_env(url)
        done = subprocess.run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--file", str(target),
                               conninfo], env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise ArchiveError(f"pg_dump failed: {done.stderr.strip()[:400]}")
        return target
    if url.get_backend_name() == "sqlite":
        target = dest_dir / "vigil.sqlite3"
        source = sqlite3.connect(url.database)
        try:
            copy = sqlite3.connect(target)
            with copy:
                source.backup(copy)  # the online backup API: consistent while Vigil keeps writing
            copy.close()
        finally:
            source.close()
        return target
    raise ArchiveError(f"backups support PostgreSQL and SQLite, not {url.get_backend_name()}")


def instance_files(instance: Path, exclude: set[Path]) -> list[Path]:
    files = []
    for root, dirs, names in os.walk(instance):
        dirs[:] = [d for d in dirs if not (Path(root) == instance and d in SKIP_DIRS)]
        for name in names:
            path = Path(root) / name
            if path.resolve() not in exclude and path.is_file():
                files.append(path)
    return sorted(files)


def build(out_dir: Path, *, encrypt: bool, url: sa.URL | None = None, instance: Path | None = None,
          heads: list[str] | None = None) -> Built:
    """Write one archive into out_dir and return it (file name by UTC time)."""
    url = url or db.engine.url
    instance = instance or Path(current_app.instance_path)
    heads = heads if heads is not None else db_heads()
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    name = f"vigil-backup-{stamp}.tar.gz" + (".sealed" if encrypt else "")
    with tempfile.TemporaryDirectory(prefix="vigil-backup-") as tmp:
        work = Path(tmp)
        dump = dump_database(url, work)
        exclude = {out_dir.resolve()}
        if url.get_backend_name() == "sqlite" and url.database:
            exclude |= {Path(url.database).resolve(), Path(url.database + "-journal").resolve(),
                        Path(url.database + "-wal").resolve()}
        members: dict[str, Path] = {f"db/{dump.name}": dump}
        for path in instance_files(instance, exclude):
            if not path.resolve().is_relative_to(out_dir.resolve()):
                members[f"instance/{path.relative_to(instance).as_posix()}"] = path
        manifest = {
            "format": FORMAT, "created_at": datetime.now(UTC).isoformat(), "vigil_version": vigil_version(),
            "migration_heads": heads, "database": {"backend": url.get_backend_name(), "member": f"db/{dump.name}"},
            "members": {arc: {"sha256": sha256_file(p), "size": p.stat().st_size} for arc, p in members.items()},
        }
        manifest_path = work / "manifest.json"
        manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True))
        plain = work / "archive.tar.gz"
        with tarfile.open(plain, "w:gz") as tar:
            tar.add(manifest_path, arcname="manifest.json")
            for arc, path in members.items():
                tar.add(path, arcname=arc)
        final = out_dir / name
        if encrypt:
            sealing.seal(plain, final)
        else:
            shutil.move(plain, final)
    return Built(final, sha256_file(final), final.stat().st_size, manifest)


def unpack(archive: Path, dest: Path) -> dict[str, Any]:
    """Open (and unseal) an archive into dest, check every member against the manifest, return it.

    Refuses, with a message naming the member, an archive whose checksums do not match, that
    holds members the manifest does not list, or whose paths leave the folder.
    """
    if not archive.is_file():
        raise ArchiveError(f"no archive at {archive}")
    tar_path = archive
    if sealing.is_sealed(archive):
        tar_path = dest / ".archive.tar.gz"
        try:
            sealing.open_sealed(archive, tar_path)
        except sealing.SealError as exc:
            raise ArchiveError(f"refused: {exc}") from exc
    try:
        with tarfile.open(tar_path, "r:gz") as tar:
            tar.extractall(dest, filter="data")  # "data": no absolute paths, links out or devices
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ArchiveError(f"refused: the archive cannot be read ({type(exc).__name__}); it is damaged") from exc
    finally:
        if tar_path != archive:
            tar_path.unlink(missing_ok=True)
    try:
        manifest = json.loads((dest / "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        raise ArchiveError("refused: the archive has no readable manifest.json") from exc
    listed = manifest.get("members") or {}
    present = {p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()} - {"manifest.json"}
    if present - set(listed):
        raise ArchiveError(f"refused: members not in the manifest: {sorted(present - set(listed))[:5]}")
    for arc, meta in listed.items():
        path = dest / arc
        if not path.is_file():
            raise ArchiveError(f"refused: {arc} is listed in the manifest but missing")
        if sha256_file(path) != meta["sha256"]:
            raise ArchiveError(f"refused: broken checksum for {arc} (the archive was changed or damaged)")
    return manifest
