"""The five frameworks' control catalogues and the finding-to-control map, loaded from
data/compliance/ into global reference tables (idempotent: a reload updates in place)."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from app.models import FindingControlMap, FrameworkControl, db
from app.models.compliance import FRAMEWORKS

DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "compliance"
FRAMEWORKS_FILE = DATA_DIR / "frameworks.json"
FINDING_MAP_FILE = DATA_DIR / "finding-map.json"


def catalogue_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Every control of the file as (framework, control_id, name, category, security_relevant)."""
    fw = data["frameworks"]
    rows = []
    for c in fw["soc2_tsc_2017"]["criteria"]:
        rows.append(("SOC2", c["id"], c["short_title"], f"{c['series']} {c['series_name']}", True))
    for c in fw["iso_iec_27001_2022_annex_a"]["controls"]:
        rows.append(("ISO27001", c["id"], c["title"], f"{c['theme']} {c['theme_name']}", True))
    for c in fw["gdpr"]["articles"]:
        rows.append(("GDPR", c["id"], c["title"], f"Chapter {c['chapter']} {c['chapter_title']}",
                     bool(c["security_relevant"])))
    for c in fw["nis2_art21_2"]["measures"]:
        rows.append(("NIS2", c["id"], c["short_title"], "Art. 21(2) risk-management measures", True))
    for c in fw["pipeda_schedule1"]["principles"]:
        rows.append(("PIPEDA", c["id"], c["title"], "Schedule 1 principles", True))
    return [{"framework": f, "control_id": i, "control_name": n[:255], "control_category": cat[:100],
             "security_relevant": rel, "position": pos} for pos, (f, i, n, cat, rel) in enumerate(rows)]


def load_frameworks(path: Path = FRAMEWORKS_FILE, finding_map: Path = FINDING_MAP_FILE) -> dict[str, int]:
    """Load or refresh the catalogues and the finding map; returns controls per framework."""
    rows = catalogue_rows(json.loads(path.read_text(encoding="utf-8")))
    existing = {(c.framework, c.control_id): c for c in db.session.scalars(sa.select(FrameworkControl))}
    counts: dict[str, int] = {}
    for row in rows:
        control = existing.get((row["framework"], row["control_id"]))
        if control is None:
            control = FrameworkControl(framework_version=FRAMEWORKS[row["framework"]][1], **row)
            db.session.add(control)
        else:
            for key, value in row.items():
                setattr(control, key, value)
        counts[row["framework"]] = counts.get(row["framework"], 0) + 1
    counts["GDPR_security_relevant"] = sum(1 for r in rows if r["framework"] == "GDPR" and r["security_relevant"])
    counts["finding_map"] = load_finding_map(finding_map)
    db.session.flush()
    return counts


def load_finding_map(path: Path = FINDING_MAP_FILE) -> int:
    """Replace the finding map with the file's (it is reference data, never edited in place)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    db.session.execute(sa.delete(FindingControlMap))
    n = 0
    for finding_type, spec in data["findings"].items():
        for framework, control_ids in spec["controls"].items():
            for control_id in control_ids:
                db.session.add(FindingControlMap(finding_type=finding_type, framework=framework,
                                                 control_id=control_id, flag_status=spec["status"]))
                n += 1
    return n


@functools.cache
def finding_aliases(path: Path = FINDING_MAP_FILE) -> dict[str, str]:
    """A source's own finding type -> the map's finding type it counts as (the file's "aliases")."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return {alias: target for alias, target in data.get("aliases", {}).items() if target in data["findings"]}


def assessable_controls(framework: str) -> list[FrameworkControl]:
    """The catalogue controls an assessment of `framework` lists (GDPR: security-relevant only)."""
    return list(db.session.scalars(sa.select(FrameworkControl).where(
        FrameworkControl.framework == framework, FrameworkControl.security_relevant.is_(True))
        .order_by(FrameworkControl.position)))


def is_loaded() -> bool:
    return db.session.scalar(sa.select(sa.func.count(FrameworkControl.id))) > 0
