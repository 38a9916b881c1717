"""Virus scanning through a ClamAV daemon (clamd), INSTREAM protocol over TCP.

Configured by EXPOSURE_CLAMD ("host:port"). Without it an upload says "not scanned" rather
than pretending. Protocol (clamd(8)): send `zINSTREAM\\0`, then chunks each prefixed by its
length as a 4-byte big-endian integer, then a zero length; the daemon answers
`stream: OK\\0`, `stream: <signature> FOUND\\0` or `... ERROR\\0`.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable
from dataclasses import dataclass

CHUNK = 64 * 1024


@dataclass(frozen=True)
class ScanResult:
    scanned: bool
    clean: bool
    result: str  # "OK", "<signature> FOUND", "not scanned" or "error: ..."


NOT_SCANNED = ScanResult(False, True, "not scanned")


def parse_address(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError("EXPOSURE_CLAMD must be host:port")
    return host, int(port)


def scan(address: str | None, chunks: Iterable[bytes], timeout: float = 30.0) -> ScanResult:
    """Stream `chunks` to clamd; a daemon that cannot be reached is an error, never 'clean'."""
    if not address:
        return NOT_SCANNED
    try:
        host, port = parse_address(address)
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"zINSTREAM\0")
            for chunk in chunks:
                for start in range(0, len(chunk), CHUNK):
                    piece = chunk[start:start + CHUNK]
                    sock.sendall(struct.pack(">I", len(piece)) + piece)
            sock.sendall(struct.pack(">I", 0))
            reply = b""
            while not reply.endswith(b"\0"):
                data = sock.recv(4096)
                if not data:
                    break
                reply += data
    except (OSError, ValueError) as exc:
        return ScanResult(False, False, f"error: {exc}"[:100])
    text = reply.rstrip(b"\0").decode("utf-8", "replace").strip()
    verdict = text.split(":", 1)[1].strip() if ":" in text else text
    if verdict == "OK":
        return ScanResult(True, True, "OK")
    if verdict.endswith("FOUND"):
        return ScanResult(True, False, verdict[:100])
    return ScanResult(False, False, f"error: {verdict}"[:100])
