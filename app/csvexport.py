"""CSV downloads shared by the domains (metrics catalogues and scorecards, compliance
controls and evidence, the roadmap's tasks): one writer, so every export neutralises
spreadsheet formulas the same way. Pure functions; a helper, so any layer may use it."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any


def to_csv(rows: Iterable[dict[str, Any]], columns: tuple[str, ...]) -> str:
    """A CSV of `columns` (the header row) taken from each row; missing keys are empty cells."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: plain(row.get(k)) for k in columns})
    return buffer.getvalue()


def plain(value: Any) -> str:
    """One cell's text: None is empty, a Decimal loses its trailing zeros, and text that a
    spreadsheet would run as a formula is quoted so it stays text."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    text = str(value)
    # Cells starting with these are formulas to a spreadsheet: quote them so they stay text.
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not is_number(text) else text


def is_number(text: str) -> bool:
    """Whether `text` reads as a number (a negative number is not a formula)."""
    try:
        Decimal(text)
    except InvalidOperation:
        return False
    return True
