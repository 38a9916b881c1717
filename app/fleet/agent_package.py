"""What the "add device" page hands a server: the agent as a source tarball of the
`vigil_agent` package (its own pyproject, only the agent's dependencies) at the console's
version, and an installer script pinned to that tarball."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import vigil_agent

SOURCE = Path(vigil_agent.__file__).resolve().parent
VERSION = vigil_agent.__version__
INCLUDED = (".py", ".toml", ".service")


def tarball_name() -> str:
    return f"vigil-agent-{VERSION}.tar.gz"


def tarball() -> bytes:
    """The agent's source, installable with `pip install vigil-agent-<version>.tar.gz`.
    Files in a fixed order with fixed times, so the same version is the same bytes."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(SOURCE.iterdir()):
            if not path.is_file() or path.suffix not in INCLUDED:
                continue
            info = tarfile.TarInfo(f"vigil-agent-{VERSION}/{path.name}")
            data = path.read_bytes()
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
