"""Demo canary tokens (registered with app.core.demo_data), made and fired through the real
services: a few tokens of different kinds planted in typical places, and hits on two of them
by a tool and by a browser, so the list, the timeline, attribution and the alert have
something to show. The hits come from inside the network (a CI runner, a workstation: the
lateral movement internal tokens are for), so no real party is named and, being private
addresses, they make no threat-intelligence indicator in the demo feed."""

from __future__ import annotations

from app.bait import kinds, services
from app.core.demo_data import register_demo
from app.models import Organization, db

# (kind, name, memo): where a defender would plant each one.
DEMO_TOKENS = (
    ("aws", "Deploy keys in ci-scripts repo (demo)", "Planted in ci-scripts/.aws/credentials."),
    ("url", "Salary review link on the file share (demo)", "Link inside \\\\fs01\\hr\\salaries-2026.url."),
    ("postgres", "Billing DB login in the wiki (demo)", "Connection string on the 'Legacy billing' wiki page."),
    ("docx", "Board minutes draft (demo)", "Document in the finance share."),
)
CURL = {"User-Agent": "curl/8.5.0", "Accept": "*/*"}
BROWSER = {"User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                         "Chrome/131.0 Safari/537.36",
           "Accept-Language": "en-GB,en;q=0.9", "Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate",
           "Sec-Fetch-Dest": "document"}


def seed_bait(orgs: dict[str, Organization]) -> None:
    for org in orgs.values():
        if services.org_tokens(org.id):
            continue
        made = {}
        for kind, name, memo in DEMO_TOKENS:
            try:
                made[kind] = services.create_token(org.id, kind, name, memo=memo, actor_label="seed-demo")
            except services.BaitError:
                continue  # a kind this installation cannot serve (e.g. no listener configured)
        if "aws" in made:
            for _ in range(3):
                services.record_hit(made["aws"], services.Hit("10.20.8.31", kinds.KINDS["aws"][1], CURL["User-Agent"], CURL,
                                                              notes="demo hit"))
        if "url" in made:
            services.record_hit(made["url"], services.Hit("10.20.4.37", "http", BROWSER["User-Agent"], BROWSER,
                                                          notes="demo hit"))
        db.session.commit()


register_demo(seed_bait)
