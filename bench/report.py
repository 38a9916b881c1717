"""The printed table and bench/results/latest.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.timing import Measure

RESULTS_DIR = Path(__file__).resolve().parent / "results"
PERFORMANCE_DOC = Path(__file__).resolve().parent.parent / "docs" / "performance.md"
TABLE_START = "<!-- bench:table -->"
TABLE_END = "<!-- /bench:table -->"


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


def markdown_table(meta: dict[str, Any], measures: list[Measure], scale: str) -> str:
    """The run as a Markdown table: what, value, same-run baseline, ratio, size, peak memory, load, commit."""
    load = meta.get("load_average") or ()
    lines = [
        f"Run of `python -m bench --scale {scale}` finished {meta['finished_at']} at commit "
        f"`{meta.get('git_commit') or '?'}`, {meta['backend']} ({meta['database']}), Python {meta['python']}, "
        f"{meta['cpus']} CPUs, load average at the end {', '.join(f'{x:.1f}' for x in load)}, "
        f"{meta['duration_seconds']} s.",
        "",
        "| measured | value | baseline (same run) | baseline value | ratio (cost over baseline) | data size "
        "| peak memory | load (1 min) | commit |",
        "|---|---:|---|---:|---:|---|---:|---:|---|",
    ]
    for m in measures:
        lines.append("| " + " | ".join([
            m.name, _number(m.value, m.unit), m.baseline_name or "-",
            _number(m.baseline_value, m.unit) if m.baseline_value is not None else "-",
            f"{m.ratio:.2f}x" if m.ratio is not None else "-", m.size or "-",
            _number(m.peak_mib, "MiB") if m.peak_mib is not None else "-",
            f"{m.load:.1f}" if m.load is not None else "-", f"`{meta.get('git_commit') or '?'}`",
        ]) + " |")
    notes = [f"- {m.name}: {m.note}" for m in measures if m.note]
    return "\n".join(lines + ([""] + notes if notes else []))


def write_markdown(meta: dict[str, Any], measures: list[Measure], scale: str, path: Path = PERFORMANCE_DOC) -> Path:
    """Replace the table between the markers in docs/performance.md (the prose around it stays)."""
    table = f"{TABLE_START}\n{markdown_table(meta, measures, scale)}\n{TABLE_END}"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Performance\n\n"
    if TABLE_START in text and TABLE_END in text:
        head, rest = text.split(TABLE_START, 1)
        text = head + table + rest.split(TABLE_END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + table + "\n"
    path.write_text(text, encoding="utf-8")
    return path
