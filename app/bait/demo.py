"""Demo canary tokens (registered in app.demo.DEMO_EXTENSIONS): two tokens per demo
organization, one of them hit twice from internal addresses (lateral movement, the case a
canary is for) through the same `record_hit` the honeypot uses. Private addresses never
become threat indicators, so the demo's threat-intelligence feed stays as the threats
domain seeds it."""

from __future__ import annotations

from app.bait.services import Hit, create_token, record_hit
from app.demo import DEMO_EXTENSIONS
from app.models import Organization

HITS = (Hit("10.20.30.40", "http", "curl/8.5.0", {"Accept": "*/*"}),
        Hit("192.168.7.19", "http", "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
            {"Accept-Language": "en-US", "Accept": "text/html"}))


def seed(orgs: dict[str, Organization]) -> None:
    for org in orgs.values():
        hit_token = create_token(org.id, "url", "Wiki: admin passwords page", memo="IT wiki", actor_label="seed-demo")
        create_token(org.id, "aws", "Build server AWS key", memo="~/.aws/credentials", actor_label="seed-demo")
        for hit in HITS:
            record_hit(hit_token, hit)


if seed not in DEMO_EXTENSIONS:
    DEMO_EXTENSIONS.append(seed)
