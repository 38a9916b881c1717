"""Trigram indexes behind global search (app/search), declared once so Alembic sees them.

On PostgreSQL each is a GIN index with `gin_trgm_ops` (pg_trgm), which serves
`ILIKE '%term%'`; on SQLite the migration creates a plain index of the same name (SQLite's
LIKE scans anyway, and the same name keeps `flask db check` quiet on both backends).
"""

from __future__ import annotations

import sqlalchemy as sa

from app.models.alerting import Alert
from app.models.fleet import Device
from app.models.identity import User
from app.models.incidents import SecurityIncident
from app.models.metrics import Metric
from app.models.tenancy import Site
from app.models.threats import ThreatIntelligence
from app.models.wireless import Network

# (index name, table, column): the migration 0022 creates exactly these.
TRIGRAM_INDEXES: tuple[tuple[str, sa.Table, str], ...] = (
    ("ix_networks_bssid_trgm", Network.__table__, "bssid"),
    ("ix_networks_ssid_trgm", Network.__table__, "ssid"),
    ("ix_devices_hostname_trgm", Device.__table__, "hostname"),
    ("ix_devices_device_name_trgm", Device.__table__, "device_name"),
    ("ix_threat_intelligence_value_trgm", ThreatIntelligence.__table__, "indicator_value"),
    ("ix_users_email_trgm", User.__table__, "email"),
    ("ix_security_incidents_title_trgm", SecurityIncident.__table__, "title"),
    ("ix_alerts_target_label_trgm", Alert.__table__, "target_label"),
    ("ix_metrics_name_trgm", Metric.__table__, "name"),
    ("ix_sites_name_trgm", Site.__table__, "name"),
)

for _name, _table, _column in TRIGRAM_INDEXES:
    sa.Index(_name, _table.c[_column], postgresql_using="gin", postgresql_ops={_column: "gin_trgm_ops"})
