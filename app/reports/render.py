"""Rendering a ReportContent: HTML template -> PDF (WeasyPrint), tables -> CSV.

Nothing is fetched over the network while rendering: the URL fetcher serves data: URIs and
files under static/ only, and refuses everything else (a report must not leak a request
to a tracking pixel, nor wait on one).
"""

from __future__ import annotations

import csv
import io
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import current_app
from weasyprint import HTML
from weasyprint.urls import URLFetcher

from app.reports.registry import Period, ReportContent, Table

# WeasyPrint logs every rendering step at INFO (even while importing its default stylesheets):
# keep it out of the CLI's and workers' output.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)


class LocalOnlyFetcher(URLFetcher):
    """WeasyPrint's fetcher limited to data: URIs and files inside static/."""

    def __init__(self, static_root: Path):
        super().__init__(allowed_protocols={"data", "file"}, fail_on_errors=False)
        self.static_root = static_root.resolve()

    def fetch(self, url: str, headers: Any = None):
        if url.startswith("file://"):
            path = Path(url.removeprefix("file://").split("?")[0]).resolve()
            if not path.is_relative_to(self.static_root):
                raise ValueError("only files under static/ may be used in a report")
        elif not url.startswith("data:"):
            raise ValueError("reports render without network access")
        return super().fetch(url, headers)


def render_html(content: ReportContent, *, title: str, org_name: str, period: Period) -> str:
    """The report's HTML, from the template alone: no request, no page-shell globals (a job renders it)."""
    template = current_app.jinja_env.get_template(f"reports/pdf/{content.template}")
    return template.render(report_title=title, org_name=org_name, period=period, generated_at=datetime.now(UTC),
                           tables=content.tables, **content.context)


def render_pdf(html: str) -> bytes:
    """The one place Vigil prints a PDF: every domain's document goes through this fetcher."""
    static = Path(current_app.static_folder or "static")
    return HTML(string=html, base_url=static.as_uri() + "/",
                url_fetcher=LocalOnlyFetcher(static)).write_pdf()


def render_template_pdf(template: str, **context: Any) -> bytes:
    """A domain's own document (auditor pack, certificate, vulnerability report) printed from
    its template alone: no request context processors, since jobs and the CLI have no user."""
    return render_pdf(current_app.jinja_env.get_template(template).render(**context))


def table_csv(table: Table) -> bytes:
    """One table as CSV; cells that a spreadsheet would run as a formula are quoted with '."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue().encode()


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    return "" if value is None else value
