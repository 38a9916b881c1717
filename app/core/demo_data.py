"""The demo-data seam: `vigil seed-demo` (app/demo.py) makes the organizations, users and
sites, then calls every extension a domain registered here to add its own demo rows. The
domains register from their own demo modules, so the entry point never names them and
they never import the entry point (issue 21)."""

from __future__ import annotations

from collections.abc import Callable

from app.models import Organization

# Callables (org_by_slug) -> None, in registration (import) order.
DEMO_EXTENSIONS: list[Callable[[dict[str, Organization]], None]] = []


def register_demo(extend: Callable[[dict[str, Organization]], None]) -> Callable[[dict[str, Organization]], None]:
    """Have `vigil seed-demo` call `extend(orgs_by_slug)` after the base demo data (idempotent)."""
    if extend not in DEMO_EXTENSIONS:
        DEMO_EXTENSIONS.append(extend)
    return extend
