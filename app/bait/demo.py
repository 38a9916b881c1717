"""Demo canary tokens (registered in app.demo.DEMO_EXTENSIONS): two tokens per demo
organization, one of them hit twice from documentation addresses through the same
`record_hit` the honeypot uses (attribution, indicators and alerts included)."""

from __future__ import annotations

from app.bait.services import Hit, create_token, record_hit
from app.demo import DEMO_EXTENSIONS
from app.models import Organization

HITS = (Hit("198.51.100.23", "http", "curl/8.5.0", {"Accept": "*/*"}),
        Hit("203.0.113.77", "http", "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
            {"Accept-Language": "en-US", "Accept": "text/html"}))


def seed(orgs: dict[str, Organization]) -> None:
    for org in orgs.values():
        hit_token = create_token(org.id, "url", "Wiki: admin passwords page", memo="IT wiki", actor_label="seed-demo")
        create_token(org.id, "aws", "Build server AWS key", memo="~/.aws/credentials", actor_label="seed-demo")
        for hit in HITS:
            record_hit(hit_token, hit)


if seed not in DEMO_EXTENSIONS:
    DEMO_EXTENSIONS.append(seed)
