"""The report registry: each domain registers its builders from its own package.

A builder is `builder(org_id, period, params) -> ReportContent`: the HTML template that
lays the report out, its context, and the named tables that also become CSV files. The
engine (render, store, schedule, mail) never names a domain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class Table:
    """A named table: shown in the PDF by the template and written as `<name>.csv`."""

    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Period:
    """The half-open time range [start, end) a report covers, in UTC, with its label."""

    start: datetime
    end: datetime
    label: str


@dataclass
class ReportContent:
    template: str  # under templates/reports/pdf/
    context: dict[str, Any]
    tables: dict[str, Table] = field(default_factory=dict)


Builder = Callable[[int, Period, dict[str, Any]], ReportContent]


@dataclass(frozen=True)
class ReportType:
    name: str
    title: str
    permission: str  # who may generate and download it (app.permissions)
    builder: Builder
    # Free-text parameter the builder accepts (e.g. a network's BSSID), or None.
    subject_label: str | None = None


REPORTS: dict[str, ReportType] = {}


def register_report(name: str, title: str, permission: str, builder: Builder,
                    subject_label: str | None = None) -> ReportType:
    """Register a report type; a second registration of the same name with another builder is a bug."""
    if name in REPORTS and REPORTS[name].builder is not builder:
        raise ValueError(f"report {name!r} registered twice")
    REPORTS[name] = ReportType(name, title, permission, builder, subject_label)
    return REPORTS[name]


def report_types() -> list[ReportType]:
    return sorted(REPORTS.values(), key=lambda r: r.title)


def get_type(name: str) -> ReportType | None:
    return REPORTS.get(name)
