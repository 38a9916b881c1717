"""The attack-surface domain's operator settings, read when used (never at import).

Each setting is an app.config key (tests and bench pass overrides there) falling back to
its environment variable; docs/deployment.md lists them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import current_app, has_app_context

DATA_DIR = Path(__file__).resolve().parent.parent.parent / "data" / "surface"
USER_AGENT = "Vigil-AttackSurface/1.0 (+verified-owner scan)"

# config key -> (environment variable, default)
SETTINGS: dict[str, tuple[str, Any]] = {
    "SURFACE_DNS_SERVERS": ("VIGIL_DNS_SERVERS", ""),  # host:port list; empty: the system's resolvers
    "SURFACE_SCAN_PRIVATE_TARGETS": ("VIGIL_SCAN_PRIVATE_TARGETS", False),
    "SURFACE_CT_URL": ("VIGIL_SURFACE_CT_URL", "https://crt.sh"),
    "SURFACE_NVD_URL": ("VIGIL_SURFACE_NVD_URL", "https://services.nvd.nist.gov/rest/json/cves/2.0"),
    "SURFACE_NVD_API_KEY": ("VIGIL_SURFACE_NVD_API_KEY", ""),  # optional; raises NVD's rate limit
    # The KEV copy: empty means the shipped data/surface/kev.json; `kev-import` writes here.
    "SURFACE_KEV_FILE": ("VIGIL_SURFACE_KEV_FILE", ""),
    "SURFACE_KEV_URL": ("VIGIL_SURFACE_KEV_URL",
                        "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json"),
    "SURFACE_PORTS": ("VIGIL_SURFACE_PORTS", ""),  # comma list; empty: data/surface/top-ports.txt
    "SURFACE_HTTP_PORT": ("VIGIL_SURFACE_HTTP_PORT", 80),  # where the verification file is fetched
    "SURFACE_HTTPS_PORT": ("VIGIL_SURFACE_HTTPS_PORT", 443),
    "SURFACE_CONCURRENCY": ("VIGIL_SURFACE_CONCURRENCY", 50),  # parallel TCP connects
    "SURFACE_CONNECT_TIMEOUT": ("VIGIL_SURFACE_CONNECT_TIMEOUT", 1.5),  # seconds per connect/read
    "SURFACE_WORDLIST_MAX": ("VIGIL_SURFACE_WORDLIST_MAX", 200),  # names tried from the wordlist
    "SURFACE_MAX_HOSTS": ("VIGIL_SURFACE_MAX_HOSTS", 50),  # hosts actively probed per scan
    "SURFACE_HTTP_RATE": ("VIGIL_SURFACE_HTTP_RATE", 20.0),  # web-test requests a second per process; 0: no limit
}


def setting(key: str) -> Any:
    """The value of one setting, typed like its default."""
    env_name, default = SETTINGS[key]
    if has_app_context() and key in current_app.config:
        raw = current_app.config[key]
    else:
        raw = os.environ.get(env_name)
        if raw is None or raw == "":
            return default
    if isinstance(default, bool):
        return raw if isinstance(raw, bool) else str(raw).strip().lower() in ("1", "true", "yes", "on")
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    return raw


def dns_servers() -> list[tuple[str, int]]:
    """VIGIL_DNS_SERVERS as (host, port) pairs; `[v6addr]:port` and bare hosts accepted."""
    out: list[tuple[str, int]] = []
    for part in str(setting("SURFACE_DNS_SERVERS") or "").split(","):
        part = part.strip()
        if not part:
            continue
        if part.startswith("["):
            host, _, rest = part[1:].partition("]")
            port = int(rest.lstrip(":") or 53)
        elif part.count(":") == 1:
            host, _, port_text = part.partition(":")
            port = int(port_text)
        else:
            host, port = part, 53
        out.append((host, port))
    return out


def scan_ports() -> list[int]:
    """The TCP ports scanned: the setting, or the shipped top-ports list."""
    raw = str(setting("SURFACE_PORTS") or "")
    if raw.strip():
        return [int(p) for p in raw.split(",") if p.strip()]
    return read_list("top-ports.txt", int)


def read_list(name: str, cast=str) -> list:
    """A shipped list in data/surface/: one value a line, `#` comments."""
    lines = (DATA_DIR / name).read_text(encoding="utf-8").splitlines()
    return [cast(line.split("#", 1)[0].strip()) for line in lines if line.split("#", 1)[0].strip()]
