"""The auditor pack PDF of an assessment, printed by the report framework's one renderer
(app.reports.render: its offline fetcher and fonts)."""

from __future__ import annotations

from pathlib import Path

from app.compliance import evidence, services
from app.compliance.frameworks import FRAMEWORKS
from app.models import ComplianceAssessment, utcnow
from app.reports.render import render_template_pdf


def pack_path(assessment: ComplianceAssessment) -> Path:
    return evidence.evidence_root() / str(assessment.org_id) / "packs" / f"assessment-{assessment.id}.pdf"


def auditor_pdf(assessment: ComplianceAssessment) -> tuple[Path, bytes]:
    """Render the assessment's auditor report and store it (the newest replaces the older one)."""
    controls = services.controls_by_category(assessment)
    data = render_template_pdf("compliance/auditor_pack.pdf.html", a=assessment, label=FRAMEWORKS[assessment.framework][0],
                               grouped=controls, category_scores=services.category_scores(assessment),
                               coverage=services.coverage(assessment),
                               category_coverage=services.category_coverage(assessment),
                               evidence={c.id: evidence.of_control(c.id) for cs in controls.values() for c in cs},
                               shared={c.id: evidence.shared_with(c) for cs in controls.values() for c in cs},
                               generated_at=utcnow())
    path = pack_path(assessment)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path, data
