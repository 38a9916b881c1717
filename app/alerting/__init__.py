"""Alerting, usable by any domain: a pure state machine (`engine`), maintenance windows
(`maintenance`) and the persistence and delivery layer (`service`). The fleet's rule
types live in app/fleet/alert_rules.py; docs/architecture.md says how another domain
adds its own."""
