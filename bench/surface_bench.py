"""Attack surface: the TCP connect scan of 1,000 loopback ports next to Debian's `nmap -sT`
of the same ports in the same run, and a full XASM scan (passive and active) of the lab zone.

    python -m bench.surface_bench [--reps 3]

Runs on its own (not part of `python -m bench`): it starts the test lab of
tests/surface_lab.py on 127.0.0.1 and needs no database.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from bench.timing import Measure, median, timed

PORT_COUNT = 1000
OPEN_EVERY = 50  # 20 of the 1,000 ports have a listener


def listeners(ports: list[int]) -> list[socket.socket]:
    socks = []
    for port in ports:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            sock.close()
            continue
        sock.listen(16)
        socks.append(sock)
    return socks


def port_range() -> list[int]:
    """1,000 consecutive ports in a quiet high range."""
    return list(range(41000, 41000 + PORT_COUNT))


def bench_portscan(reps: int) -> list[Measure]:
    from app.surface import portscan

    ports = port_range()
    open_socks = listeners(ports[::OPEN_EVERY])
    try:
        ours = [timed(lambda: portscan.scan(["127.0.0.1"], ports, concurrency=200, timeout=0.3)) for _ in range(reps)]
        found = portscan.scan(["127.0.0.1"], ports, concurrency=200, timeout=0.3)
        measures = [Measure("surface", f"vigil connect scan, {PORT_COUNT} ports ({len(found)} open, banner grab)",
                            median(ours), "s", samples=ours)]
        nmap = shutil.which("nmap")
        if nmap:
            spec = f"{ports[0]}-{ports[-1]}"
            theirs = [timed(lambda: subprocess.run([nmap, "-sT", "-n", "-Pn", "-p", spec, "127.0.0.1"],
                                                   capture_output=True, check=True)) for _ in range(reps)]
            measures[0].baseline_name = "nmap -sT, same ports (no service detection)"
            measures[0].baseline_value = median(theirs)
            measures[0].baseline_samples = theirs
            measures[0].ratio = median(ours) / median(theirs)
        return measures
    finally:
        for sock in open_socks:
            sock.close()


def bench_lab_scan(reps: int) -> list[Measure]:
    from app import create_app
    from app.surface import scanner
    from tests import surface_lab

    lab = surface_lab.Lab()
    tmp = Path(tempfile.mkdtemp(prefix="vigil-surface-bench-"))
    surface_lab.start_dns(lab)
    surface_lab.start_http(lab, tmp)
    surface_lab.start_providers(lab)
    surface_lab.start_banners(lab)
    app = create_app({"VIGIL_ENV": "testing", "TESTING": True, "SECRET_KEY": "bench",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'bench.db'}", "OUTBOUND_ALLOW": "127.0.0.0/8",
                      **surface_lab.lab_config(lab),
                      # The tests' lab timeout is generous for loaded machines; the bench keeps the
                      # 0.5 s its recorded figures were measured with, so runs stay comparable.
                      "SURFACE_CONNECT_TIMEOUT": 0.5})
    zone = surface_lab.ZONE
    out = []
    with app.app_context():
        for active in (False, True):
            def scan_once(active: bool = active) -> None:
                scanner.run(scanner.ScanPlan(zone, active=active, in_scope=lambda h: h.endswith(zone)))

            samples = [timed(scan_once) for _ in range(reps)]
            out.append(Measure("surface", f"XASM scan of the lab zone ({'active' if active else 'passive'})",
                               median(samples), "s", samples=samples))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.surface_bench")
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args(argv)
    for measure in bench_portscan(args.reps) + bench_lab_scan(args.reps):
        line = f"{measure.name}: {measure.value:.3f} {measure.unit}"
        if measure.baseline_value is not None:
            line += f" | {measure.baseline_name}: {measure.baseline_value:.3f} s | ratio {measure.ratio:.2f}"
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
