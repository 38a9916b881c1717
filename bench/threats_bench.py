"""Identity and threat operations: sign-in with risk scoring, and security-event insert
with IOC matching against 100,000 active indicators.

Baselines in the same run: sign-ins with the scorer replaced by a constant "allow"
(everything else identical), and event inserts for an organization with no indicators.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Callable
from itertools import count

import sqlalchemy as sa

from bench.env import BENCH_PASSWORD, TEST_ARGON2, TEST_USER, BenchEnv
from bench.timing import Measure, median, timed

IOC_COUNT = 100_000
EVENTS = 400
SIGNINS = 60
_addresses = (f"198.18.{i // 250}.{i % 250 + 1}" for i in count())  # benchmark range (RFC 2544)


def _seed_iocs(org_id: int) -> None:
    """100k indicators: 90% single addresses, 10% /24 networks, in 203.0.113.0/24's neighbours."""
    from app.models import ThreatIntelligence, db
    from app.threats.intel import address_hex

    rng = random.Random(7)
    rows, seen = [], set()
    while len(rows) < IOC_COUNT:
        if rng.random() < 0.9:
            ip = ipaddress.ip_address(rng.randrange(0x0B000000, 0xDF000000))
            value, start, end, kind = str(ip), address_hex(ip), address_hex(ip), "ip"
        else:
            net = ipaddress.ip_network((rng.randrange(0x0B0000, 0xDF0000) << 8, 24))
            value, start, end, kind = str(net), address_hex(net.network_address), address_hex(net.broadcast_address), "cidr"
        if value in seen:
            continue
        seen.add(value)
        rows.append({"org_id": org_id, "indicator_type": kind, "indicator_value": value, "range_start": start,
                     "range_end": end, "confidence": 60, "source": "bench"})
        if len(rows) % 5000 == 0:
            db.session.execute(sa.insert(ThreatIntelligence), rows[-5000:])
    db.session.commit()


def _event_rate(env: BenchEnv, org_id: int, ips: list[str]) -> float:
    """Events per second through record_event (risk score + IOC match + insert)."""
    from app.auth.events import record_event
    from app.models import db

    def insert_all() -> None:
        for ip in ips:
            with env.app.test_request_context("/", environ_base={"REMOTE_ADDR": ip}):
                record_event("login_failed", "bench", email="nobody@bench.example", org_id=org_id)
        db.session.commit()

    with env.app.app_context():
        seconds = timed(insert_all)
        db.session.remove()
    return len(ips) / seconds


def _signin_rate(env: BenchEnv, n: int) -> float:
    client_ips = [next(_addresses) for _ in range(n)]

    def sign_in_all() -> None:
        for ip in client_ips:
            client = env.app.test_client()
            client.environ_base.update(REMOTE_ADDR=ip, HTTP_USER_AGENT="bench")
            response = client.post("/auth/login", data={"email": TEST_USER, "password": BENCH_PASSWORD})
            if response.status_code != 303:
                raise RuntimeError(f"sign-in answered {response.status_code}")

    return n / timed(sign_in_all)


def run(env: BenchEnv, reps: int, log: Callable[[str], None]) -> list[Measure]:
    from app.models import Organization, db
    from app.threats import risk

    env.set_argon2(TEST_ARGON2)
    log(f"threats: sign-in with risk scoring vs with a constant 'allow', {SIGNINS} each x {reps}")
    scored, constant = [], []
    real_assess = risk.assess
    try:
        for _ in range(reps):
            scored.append(_signin_rate(env, SIGNINS))
            risk.assess = lambda *a, **k: risk.RiskAssessment(0, "allow", {}, risk.RiskInputs())
            constant.append(_signin_rate(env, SIGNINS))
            risk.assess = real_assess
    finally:
        risk.assess = real_assess

    with env.app.app_context():
        orgs = db.session.scalars(sa.select(Organization.id).order_by(Organization.id)).all()
        intel_org, empty_org = orgs[0], orgs[1]
        log(f"threats: seeding {IOC_COUNT:,} indicators")
        _seed_iocs(intel_org)
    rng = random.Random(11)
    log(f"threats: {EVENTS} security events x {reps}, with {IOC_COUNT:,} indicators vs none")
    with_iocs, without = [], []
    for _ in range(reps):
        ips = [str(ipaddress.ip_address(rng.randrange(0x0B000000, 0xDF000000))) for _ in range(EVENTS)]
        with_iocs.append(_event_rate(env, intel_org, ips))
        without.append(_event_rate(env, empty_org, ips))
    return [
        Measure("threats", "sign-ins/s with risk scoring (test argon2 cost)", median(scored), "per s",
                baseline_name="same, scorer replaced by a constant", baseline_value=median(constant),
                ratio=median(constant) / median(scored), samples=scored, baseline_samples=constant,
                note="ratio = time per sign-in with scoring / without"),
        Measure("threats", f"security events/s with {IOC_COUNT:,} active IOCs", median(with_iocs), "per s",
                baseline_name="same, organization with no IOCs", baseline_value=median(without),
                ratio=median(without) / median(with_iocs), samples=with_iocs, baseline_samples=without,
                note="each event: risk score + indexed range match + insert; ratio = time per event"),
    ]
