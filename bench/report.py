"""The printed table and bench/results/latest.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.timing import Measure

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def _number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if abs(value) >= 1000:
        text = f"{value:,.0f}"
    elif abs(value) >= 100:
        text = f"{value:.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".rstrip()


def table(measures: list[Measure]) -> str:
    rows = [("benchmark", "median", "baseline (same run)", "baseline median", "ratio")]
    for m in measures:
        rows.append((
            m.name,
            _number(m.value, m.unit),
            m.baseline_name or "-",
            _number(m.baseline_value, m.unit) if m.baseline_value is not None else "-",
            f"{m.ratio:.2f}x" if m.ratio is not None else "-",
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [cell.ljust(widths[i]) if i in (0, 2) else cell.rjust(widths[i]) for i, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    notes = [f"  {m.name}: {m.note}" for m in measures if m.note]
    return "\n".join(lines + ["", "notes (ratio = cost over the baseline; above 1 is more expensive):", *notes])


def write_json(meta: dict[str, Any], measures: list[Measure]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / "latest.json"
    document = {"meta": meta, "results": [m.as_dict() for m in measures]}
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    return path
