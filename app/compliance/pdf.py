"""PDF documents rendered from templates with WeasyPrint: the auditor pack and certificates.

Rendering never fetches anything: the url_fetcher refuses every URL, so a template can only
use what is inline.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import current_app
from weasyprint import HTML

from app.compliance import evidence, services
from app.compliance.frameworks import FRAMEWORKS
from app.models import ComplianceAssessment, utcnow

# WeasyPrint logs every rendering step at INFO (even while importing its default stylesheets):
# keep it out of the CLI's and workers' output.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)


def refuse_fetch(url: str, *_args: Any, **_kwargs: Any) -> dict:
    raise ValueError(f"PDF rendering fetches nothing ({url[:40]})")


def render_pdf(template: str, **context: Any) -> bytes:
    """The template rendered alone (no request context processors: jobs have no signed-in user)."""
    html = current_app.jinja_env.get_template(template).render(**context)
    return HTML(string=html, url_fetcher=refuse_fetch).write_pdf()


def pack_path(assessment: ComplianceAssessment) -> Path:
    return evidence.evidence_root() / str(assessment.org_id) / "packs" / f"assessment-{assessment.id}.pdf"


def auditor_pdf(assessment: ComplianceAssessment) -> tuple[Path, bytes]:
    """Render the assessment's auditor report and store it (the newest replaces the older one)."""
    controls = services.controls_by_category(assessment)
    data = render_pdf("compliance/auditor_pack.pdf.html", a=assessment, label=FRAMEWORKS[assessment.framework][0],
                      grouped=controls, category_scores=services.category_scores(assessment),
                      evidence={c.id: evidence.of_control(c.id) for cs in controls.values() for c in cs},
                      generated_at=utcnow())
    path = pack_path(assessment)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path, data
