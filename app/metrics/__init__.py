"""Security metrics mapped to NIST CSF 2.0: framework reference, metrics, values, scores."""

from app.core.navigation import register_section
from app.metrics.blueprint import bp as bp  # the app factory registers app.metrics.bp

register_section("metrics", "Security metrics", 30, [
    ("metrics.index", "graph-up", "Security scores", "data.read"),
    ("metrics.metric_list", "list-check", "Metrics", "data.read"),
    ("metrics.catalog_list", "collection", "Catalogs", "data.read"),
    ("metrics.framework", "diagram-3", "NIST CSF 2.0", "data.read"),
    ("metrics.method", "calculator", "How scores work", "data.read"),
])

from app.metrics import (  # noqa: E402,F401
    alert_rules,
    cli,
    csf_matcher,
    demo,
    home,
    jobs,
    reports,
    search,
    views,
    views_catalogs,
)
