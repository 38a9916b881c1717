"""The auditor pack of an assessment as a ZIP: the controls (CSV), every evidence file, every
automatic snapshot (JSON) and manifest.json with the SHA-256 of each member, so an auditor
can check that nothing was changed after export."""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile

from app.compliance import evidence, services
from app.csvexport import to_csv
from app.models import ComplianceAssessment, utcnow

CONTROL_COLUMNS = ("control_id", "control_name", "control_category", "status", "compliance_score",
                   "last_reviewed", "next_review_date", "scan_source", "scan_finding_type", "scan_flagged_at",
                   "scan_verified_at", "evidence_summary", "remediation_notes")


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")[:80] or "file"


def build(assessment: ComplianceAssessment) -> tuple[bytes, dict]:
    """The ZIP's bytes and its manifest."""
    members: dict[str, bytes] = {}
    controls = services.live_controls(assessment.id)
    members["controls.csv"] = to_csv([{k: getattr(c, k) for k in CONTROL_COLUMNS} for c in controls],
                                     CONTROL_COLUMNS).encode()
    for c in controls:
        for row in evidence.of_control(c.id):
            folder = f"evidence/{safe_name(c.control_id)}"
            path = evidence.file_of(row)
            if path is not None:
                members[f"{folder}/{row.id}-{safe_name(row.description or row.title)}"] = path.read_bytes()
            elif row.snapshot is not None:
                members[f"{folder}/{row.id}-snapshot.json"] = json.dumps(row.snapshot, sort_keys=True,
                                                                         separators=(",", ":")).encode()
    manifest = {
        "assessment": {"id": assessment.id, "framework": assessment.framework,
                       "version": assessment.framework_version, "score": assessment.overall_compliance_score,
                       "controls_total": len(controls),
                       "controls_not_tested": sum(1 for c in controls if c.status == "not_tested")},
        "generated_at": utcnow().isoformat(),
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(members.items())},
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in sorted(members.items()):
            zf.writestr(name, data)
        zf.writestr("manifest.json", json.dumps(manifest, indent=1, sort_keys=True))
    return buffer.getvalue(), manifest
