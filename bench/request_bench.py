"""Request latency through the Flask test client (no network, no server).

Dashboard vs /health: the signed-in home page (session lookup, permission checks, nine
scoped counts, recent activity, the full template) against the cheapest route there is
(one `SELECT 1` and a queue ping). Login: a full sign-in POST with argon2 at the
production cost against the same POST at the test suite's cost; the difference is the
password hash.

No app context is held around the requests: each request pushes its own, as in a real
server, so nothing cached on `g` carries from one request to the next. The adaptive rate
limiter stays on (it is part of every request's cost); each sign-in comes from its own
address in one /24, so the per-address sign-in limit is never reached.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from bench.env import BENCH_PASSWORD, DASHBOARD_USER, PROD_USER, TEST_ARGON2, TEST_USER, BenchEnv
from bench.timing import Measure, median, timed

DEMO_PASSWORD = "vigil-demo-2026"
PAGE_REQUESTS = 200
LOGIN_REQUESTS = 15
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) VigilBench/1"
_addresses = (f"10.77.0.{n}" for n in itertools.cycle(range(1, 255)))


def _expect(status: int, wanted: int, what: str) -> None:
    if status != wanted:
        raise RuntimeError(f"{what} answered {status}, expected {wanted}")


def page_latency(env: BenchEnv, n: int) -> tuple[list[float], list[float]]:
    """Milliseconds per GET /, and per GET /health, interleaved."""
    client = env.app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = USER_AGENT
    response = client.post("/auth/login", data={"email": DASHBOARD_USER, "password": DEMO_PASSWORD})
    _expect(response.status_code, 303, "dashboard user's sign-in")
    for _ in range(10):  # warm-up: templates compiled, statements cached
        _expect(client.get("/").status_code, 200, "GET /")
        _expect(client.get("/health").status_code, 200, "GET /health")
    dashboard, health = [], []
    for _ in range(n):
        dashboard.append(1000 * timed(lambda: client.get("/")))
        health.append(1000 * timed(lambda: client.get("/health")))
    _expect(client.get("/").status_code, 200, "GET /")
    return dashboard, health


def login_latency(env: BenchEnv, email: str, cost: tuple[int, int], n: int) -> list[float]:
    """Milliseconds per sign-in POST (a fresh client each time: no existing session)."""
    env.set_argon2(cost)  # matches the user's stored hash, so no rehash happens on sign-in
    samples = []
    try:
        for i in range(n + 2):
            client = env.app.test_client()
            client.environ_base.update(HTTP_USER_AGENT=USER_AGENT, REMOTE_ADDR=next(_addresses))
            seconds = timed(lambda c=client: _login(c, email))
            if i >= 2:  # the first two warm up
                samples.append(1000 * seconds)
    finally:
        env.set_argon2(TEST_ARGON2)
    return samples


def _login(client, email: str) -> None:
    response = client.post("/auth/login", data={"email": email, "password": BENCH_PASSWORD})
    _expect(response.status_code, 303, f"sign-in of {email}")


def run(env: BenchEnv, log: Callable[[str], None]) -> list[Measure]:
    n_pages = PAGE_REQUESTS
    log(f"requests: GET / vs GET /health, {n_pages} each, interleaved")
    dashboard, health = page_latency(env, n_pages)
    results = [Measure(
        "requests", "GET / (dashboard, signed in)", median(dashboard), "ms",
        baseline_name="GET /health", baseline_value=median(health),
        ratio=median(dashboard) / median(health), samples=dashboard, baseline_samples=health,
        note=f"median of {n_pages} requests each",
    )]

    log(f"requests: sign-in POST at production vs test argon2 cost, {LOGIN_REQUESTS} each")
    prod, test = [], []
    # Alternate in small rounds so drift hits both.
    rounds = 3
    for _ in range(rounds):
        prod += login_latency(env, PROD_USER, env.prod_argon2, LOGIN_REQUESTS // rounds)
        test += login_latency(env, TEST_USER, TEST_ARGON2, LOGIN_REQUESTS // rounds)
    t, m = env.prod_argon2
    results.append(Measure(
        "requests", f"POST /auth/login, argon2 t={t} m={m // 1024} MiB", median(prod), "ms",
        baseline_name=f"same, test cost t={TEST_ARGON2[0]} m={TEST_ARGON2[1]} KiB", baseline_value=median(test),
        ratio=median(prod) / median(test), samples=prod, baseline_samples=test,
        note=f"median of {len(prod)} sign-ins each; the gap is the password hash",
    ))
    return results
