"""Reading catalog files (CSV, JSON, XLSX) into headers and numbered rows, and checking rows
against a column mapping. Pure functions: nothing here touches the database.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from app.csvexport import to_csv as csv_of
from app.models.metrics import METRIC_DIRECTIONS, METRIC_PRIORITIES
from app.uploads import NotAnArchive, UploadRefused, check_zip

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 5000
MAX_SHEET_ROWS = 10 * MAX_ROWS  # rows read from a spreadsheet, empty ones included
MAX_COLUMNS = 200  # columns after these are not read (a catalog has a dozen)
FORMATS = ("csv", "json", "xlsx")

# Target fields of a catalog item: (field, label, required).
FIELDS = (
    ("name", "Name", True), ("direction", "Direction", True), ("description", "Description", False),
    ("function", "CSF function", False), ("category", "CSF category", False), ("unit", "Unit", False),
    ("target", "Target value", False), ("target_lower", "Target range: lower", False),
    ("target_upper", "Target range: upper", False), ("current", "Current value", False),
    ("priority", "Priority", False), ("live_source", "Live query", False),
)
# Header spellings recognised when guessing the mapping (after lower-casing and dropping _ - space).
ALIASES = {
    "name": ("name", "metric", "metricname", "title", "metrictitle", "kpi", "kpiname", "indicator"),
    "direction": ("direction", "polarity", "better"),
    "description": ("description", "desc", "details", "definition"),
    "function": ("function", "csffunction", "functioncode"),
    "category": ("category", "csfcategory", "categorycode"),
    "unit": ("unit", "units", "measure"),
    "target": ("target", "targetvalue", "goal"),
    "target_lower": ("targetlower", "lower", "min", "lowerbound"),
    "target_upper": ("targetupper", "upper", "max", "upperbound"),
    "current": ("current", "currentvalue", "value"),
    "priority": ("priority", "importance"),
    "live_source": ("livesource", "livequery", "live"),
}
DIRECTION_WORDS = {
    "higher_is_better": "higher_is_better", "higher": "higher_is_better", "up": "higher_is_better",
    "lower_is_better": "lower_is_better", "lower": "lower_is_better", "down": "lower_is_better",
    "target_range": "target_range", "range": "target_range", "binary": "binary", "yes/no": "binary",
}


class CatalogFileError(ValueError):
    """The file cannot be read as a catalog at all (422)."""


class CatalogFileTooLarge(ValueError):
    """The file is over the 10 MB limit (413)."""


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_file(filename: str, content: bytes) -> tuple[str, list[str], list[list[Any]]]:
    """(format, headers, [[line_number, cells], ...]) of an uploaded file."""
    if len(content) > MAX_BYTES:
        raise CatalogFileTooLarge("The file is larger than 10 MB.")
    fmt = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if fmt not in FORMATS:
        raise CatalogFileError("Upload a .csv, .json or .xlsx file.")
    if not content.strip():
        raise CatalogFileError("The file is empty.")
    headers, rows = {"csv": _csv, "json": _json, "xlsx": _xlsx}[fmt](content)
    headers = [h.strip() for h in headers]
    if not any(headers):
        raise CatalogFileError("The file has no header row.")
    if len(set(headers)) != len(headers):
        raise CatalogFileError("Two columns have the same header.")
    rows = [[n, cells] for n, cells in rows if any(c != "" for c in cells)]
    if not rows:
        raise CatalogFileError("The file has a header but no rows.")
    if len(rows) > MAX_ROWS:
        raise CatalogFileError(f"The file has more than {MAX_ROWS} rows.")
    return fmt, headers, rows


def _csv(content: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CatalogFileError("The CSV file is not UTF-8 text.") from None
    try:
        reader = csv.reader(io.StringIO(text))
        records = list(reader)
    except csv.Error as exc:
        raise CatalogFileError(f"The CSV file cannot be read: {exc}.") from None
    headers = records[0] if records else []
    width = len(headers)
    return headers, [(i, [_cell(c) for c in (r + [""] * width)[:width]]) for i, r in enumerate(records[1:], 2)]


def _json(content: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    try:
        data = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CatalogFileError(f"The JSON file cannot be read: {exc}.") from None
    items = data.get("metrics") if isinstance(data, dict) else data
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise CatalogFileError('The JSON file must be a list of objects, or {"metrics": [...]}.')
    headers: list[str] = []
    for item in items:
        headers.extend(k for k in item if k not in headers)
    # A JSON "line" is the item's position in the list, counted from 1.
    return headers, [(i, [_cell(item.get(h)) for h in headers]) for i, item in enumerate(items, 1)]


def _xlsx(content: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The first sheet, streamed (openpyxl read-only) and read only up to the row limit, after
    the archive itself passed the shared zip checks (no zip bomb is ever inflated)."""
    import zipfile

    from openpyxl import load_workbook

    try:
        check_zip(content)
    except NotAnArchive as exc:
        raise CatalogFileError(f"The XLSX file cannot be read: {exc}.") from None
    except UploadRefused as exc:
        raise CatalogFileError(str(exc)) from None
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise CatalogFileError(f"The XLSX file cannot be read: {exc}.") from None
    try:
        records = sheet_rows(book.worksheets[0])
    finally:
        book.close()
    if not records:
        raise CatalogFileError("The first sheet is empty.")
    headers = [_cell(h) for h in records[0]]
    while headers and headers[-1] == "":  # rows come padded to the sheet's width
        headers.pop()
    width = len(headers)
    return headers, [(i, [_cell(c) for c in (list(r) + [None] * width)[:width]])
                     for i, r in enumerate(records[1:], 2)]


def sheet_rows(sheet) -> list[tuple]:
    """The header and rows of a sheet, stopping as soon as it has more than MAX_ROWS rows
    with a value (so the caller's row-limit message answers without reading the rest)."""
    records: list[tuple] = []
    filled = 0
    width = min(sheet.max_column or MAX_COLUMNS, MAX_COLUMNS)  # max_column: the sheet's declared dimension
    for row in sheet.iter_rows(values_only=True, max_col=width):
        records.append(row)
        filled += any(c is not None and c != "" for c in row)
        if filled > MAX_ROWS + 1:  # + the header
            break
        if len(records) > MAX_SHEET_ROWS:
            raise CatalogFileError(f"The first sheet has more than {MAX_SHEET_ROWS:,} rows (empty ones included); "
                                   "delete the unused rows.")
    return records


def _key(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def guess_columns(headers: list[str]) -> dict[str, str]:
    """{field: header} for headers that obviously name a field."""
    found: dict[str, str] = {}
    for fld, aliases in ALIASES.items():
        for header in headers:
            if _key(header) in aliases and header not in found.values():
                found[fld] = header
                break
    return found


@dataclass
class RowProblem:
    line: int
    reasons: list[str]


@dataclass
class CheckedRows:
    items: list[dict[str, Any]] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)


def _number(text: str, label: str, reasons: list[str]) -> Decimal | None:
    if text == "":
        return None
    try:
        value = Decimal(text.replace(",", "").rstrip("%").strip())
    except InvalidOperation:
        reasons.append(f"{label} {text!r} is not a number.")
        return None
    if not value.is_finite() or abs(value) >= Decimal("1e11"):
        reasons.append(f"{label} {text!r} is out of range.")
        return None
    if value < 0:
        reasons.append(f"{label} cannot be negative.")
    return value


def check_rows(headers: list[str], rows: list[list[Any]], column_map: dict[str, str],
               categories: dict[str, str], live_sources: frozenset[str] = frozenset()) -> CheckedRows:
    """Every row as item values, or the reasons each bad row is refused.

    `categories` is {category code: function code} of the loaded framework; `live_sources`
    the names of the live queries a row may name.
    """
    functions = set(categories.values())
    index = {fld: headers.index(h) for fld, h in column_map.items() if h in headers}
    out = CheckedRows()
    seen: dict[str, int] = {}  # name (case-insensitive) -> first line: activation matches metrics by name
    for line, cells in rows:
        def get(fld: str, cells: list[str] = cells) -> str:
            return cells[index[fld]].strip() if fld in index else ""

        reasons: list[str] = []
        name = get("name")
        if not name:
            reasons.append("Name is empty.")
        elif len(name) > 200:
            reasons.append("Name is longer than 200 characters.")
        elif name.casefold() in seen:
            reasons.append(f"Name repeats line {seen[name.casefold()]}.")
        else:
            seen[name.casefold()] = line
        raw_direction = get("direction")
        direction = DIRECTION_WORDS.get(raw_direction.lower().replace(" ", "_"))
        if direction is None:
            reasons.append(f"Direction {raw_direction!r} is not one of {', '.join(METRIC_DIRECTIONS)}."
                           if raw_direction else "Direction is empty.")
        priority = get("priority").capitalize() or "Medium"
        if priority not in METRIC_PRIORITIES:
            reasons.append(f"Priority {get('priority')!r} is not High, Medium or Low.")
        function = get("function").upper() or None
        category = get("category").upper() or None
        if function and function not in functions:
            reasons.append(f"CSF function {function!r} is not in the loaded framework.")
        if category:
            if category not in categories:
                reasons.append(f"CSF category {category!r} is not in the loaded framework.")
            elif function and categories[category] != function:
                reasons.append(f"CSF category {category} belongs to {categories[category]}, not {function}.")
            else:
                function = categories[category]
        target = _number(get("target"), "Target", reasons)
        lower = _number(get("target_lower"), "Lower bound", reasons)
        upper = _number(get("target_upper"), "Upper bound", reasons)
        current = _number(get("current"), "Current value", reasons)
        if direction in ("higher_is_better", "lower_is_better") and target is None and not reasons:
            reasons.append("This direction needs a target value.")
        if direction == "target_range" and (lower is None or upper is None) and not reasons:
            reasons.append("A target range needs both bounds.")
        if lower is not None and upper is not None and lower > upper:
            reasons.append("The upper bound is below the lower bound.")
        unit = get("unit") or None
        if unit and len(unit) > 50:
            reasons.append("Unit is longer than 50 characters.")
        live = get("live_source") or None
        if live and live not in live_sources:
            reasons.append(f"Live query {live!r} does not exist.")
        if reasons:
            out.problems.append(RowProblem(line, reasons))
            continue
        out.items.append({
            "line_number": line, "original_data": dict(zip(headers, cells, strict=False)), "name": name,
            "description": get("description") or None, "direction": direction, "priority": priority,
            "function_code": function, "category_code": category, "unit": unit, "target_value": target,
            "target_lower": lower, "target_upper": upper, "current_value": current, "live_source": live,
        })
    return out


EXPORT_COLUMNS = ("name", "description", "function", "category", "direction", "unit", "target", "target_lower",
                  "target_upper", "current", "priority", "live_source", "subcategories")


def to_csv(rows: list[dict[str, Any]], columns: tuple[str, ...] = EXPORT_COLUMNS) -> str:
    """A CSV with the columns `check_rows` reads back (a round trip re-imports cleanly)."""
    return csv_of(rows, columns)
