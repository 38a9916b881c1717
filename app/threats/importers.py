"""Threat-intelligence import: STIX 2.1 bundles, MISP events and CSV.

Parsing is separate from saving, so a preview shows exactly what an import will do.
Every candidate is a ParsedIndicator or a Rejection naming its row and the reason; a
file that is not the format at all raises ImportFormatError before anything is saved.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from app.indicators.store import IndicatorError, normalise
from app.threats.intel import Rejection

# The four TLP 1.0 marking-definition ids fixed by the STIX 2.1 specification (section 7.2.1.4).
STIX_TLP = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": "clear",
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": "green",
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": "amber",
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": "red",
}
STIX_OBJECTS = {
    "ipv4-addr:value": "ip", "ipv6-addr:value": "ip", "domain-name:value": "domain", "url:value": "url",
    "email-addr:value": "email", "file:hashes.md5": "md5", "file:hashes.sha-1": "sha1", "file:hashes.sha1": "sha1",
    "file:hashes.sha-256": "sha256", "file:hashes.sha256": "sha256",
}
COMPARISON = re.compile(r"([a-z0-9-]+:[a-z0-9_.'\-]+)\s*=\s*'((?:[^'\\]|\\.)*)'", re.IGNORECASE)
MISP_TYPES = {
    "ip-src": "ip", "ip-dst": "ip", "domain": "domain", "hostname": "domain", "url": "url", "uri": "url",
    "email": "email", "email-src": "email", "email-dst": "email", "md5": "md5", "sha1": "sha1", "sha256": "sha256",
}
MISP_THREAT_LEVEL = {"1": "high", "2": "medium", "3": "low", "4": "medium"}
MISP_TLP_TAGS = {"tlp:white": "clear", "tlp:clear": "clear", "tlp:green": "green", "tlp:amber": "amber",
                 "tlp:amber+strict": "amber+strict", "tlp:red": "red"}
CSV_REQUIRED = ("type", "value")
SEVERITIES = ("low", "medium", "high", "critical")


class ImportFormatError(ValueError):
    """The file is not the format it claims (or any supported format)."""


@dataclass
class ParsedIndicator:
    row: str  # where it came from: "indicator--<id>", "attribute 4", "line 7"
    indicator_type: str
    value: str
    severity: str = "medium"
    confidence: float = 50.0
    tlp: str = "amber"
    source: str = "import"
    threat_type: str | None = None
    description: str | None = None
    expires_at: datetime | None = None
    first_seen: datetime | None = None


@dataclass
class ParseResult:
    format: str
    indicators: list[ParsedIndicator] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def read(self) -> int:
        return len(self.indicators) + len(self.rejections)


def _timestamp(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = datetime.fromtimestamp(int(value), UTC)
        except (TypeError, ValueError):
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _accept(result: ParseResult, candidate: ParsedIndicator) -> None:
    try:
        canonical, start, end = normalise(candidate.indicator_type, candidate.value)
    except IndicatorError as exc:
        result.rejections.append(Rejection(candidate.row, str(exc)))
        return
    candidate.value = canonical
    if start is not None:
        candidate.indicator_type = "ip" if start == end else "cidr"
    result.indicators.append(candidate)


# STIX 2.1 ------------------------------------------------------------------------------------

def parse_stix(data: dict[str, Any], source: str = "stix") -> ParseResult:
    if not isinstance(data, dict) or data.get("type") != "bundle" or not isinstance(data.get("objects"), list):
        raise ImportFormatError("not a STIX 2.1 bundle (expected {\"type\": \"bundle\", \"objects\": [...]})")
    result = ParseResult("stix")
    for obj in data["objects"]:
        if not isinstance(obj, dict) or obj.get("type") != "indicator":
            continue
        row = str(obj.get("id", "indicator"))
        pattern = obj.get("pattern")
        if obj.get("pattern_type", "stix") != "stix" or not isinstance(pattern, str):
            result.rejections.append(Rejection(row, f"pattern type {obj.get('pattern_type')!r} is not STIX"))
            continue
        if obj.get("revoked"):
            result.rejections.append(Rejection(row, "indicator is revoked"))
            continue
        comparisons = COMPARISON.findall(pattern)
        if not comparisons:
            result.rejections.append(Rejection(row, "no comparison could be read from the pattern"))
            continue
        if re.search(r"\bAND\b|\bFOLLOWEDBY\b", pattern):
            result.rejections.append(Rejection(
                row, "compound pattern with AND/FOLLOWEDBY cannot be matched on a single value"))
            continue
        tlp = next((STIX_TLP[m] for m in obj.get("object_marking_refs", []) if m in STIX_TLP), "amber")
        labels = obj.get("indicator_types") or obj.get("labels") or []
        for path, value in comparisons:
            key = path.lower().replace("'", "")
            kind = STIX_OBJECTS.get(key)
            if kind is None:
                result.rejections.append(Rejection(row, f"observable {path} is not an indicator type Vigil matches"))
                continue
            _accept(result, ParsedIndicator(
                row, kind, value.replace("\\'", "'"), confidence=float(obj.get("confidence", 50)), tlp=tlp,
                source=source, threat_type=", ".join(labels) or None,
                description=obj.get("name") or obj.get("description"), expires_at=_timestamp(obj.get("valid_until")),
                first_seen=_timestamp(obj.get("valid_from")),
            ))
    return result


# MISP -----------------------------------------------------------------------------------------

def _misp_attributes(event: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for i, attr in enumerate(event.get("Attribute") or [], 1):
        yield f"attribute {i}", attr
    for j, obj in enumerate(event.get("Object") or [], 1):
        for i, attr in enumerate(obj.get("Attribute") or [], 1):
            yield f"object {j} attribute {i}", attr


def parse_misp(data: dict[str, Any], source: str = "misp") -> ParseResult:
    event = data.get("Event", data) if isinstance(data, dict) else None
    if not isinstance(event, dict) or not ("Attribute" in event or "Object" in event) or "info" not in event:
        raise ImportFormatError("not a MISP event (expected {\"Event\": {...}} or an event with info and Attribute)")
    result = ParseResult("misp")
    tags = [t.get("name", "").lower() for t in event.get("Tag") or [] if isinstance(t, dict)]
    tlp = next((MISP_TLP_TAGS[t] for t in tags if t in MISP_TLP_TAGS), "amber")
    severity = MISP_THREAT_LEVEL.get(str(event.get("threat_level_id")), "medium")
    for row, attr in _misp_attributes(event):
        attr_type = str(attr.get("type", ""))
        value = str(attr.get("value", ""))
        base_type = attr_type.split("|")[0]
        if "|" in attr_type and base_type in ("ip-src", "ip-dst"):
            value = value.split("|")[0]  # ip|port
        elif "|" in attr_type:
            base_type = attr_type.split("|")[1]  # filename|md5 -> the hash part
            value = value.split("|")[-1]
        kind = MISP_TYPES.get(base_type)
        if kind is None:
            result.rejections.append(Rejection(row, f"MISP type {attr_type!r} is not an indicator type Vigil matches"))
            continue
        if attr.get("to_ids") is False:
            result.rejections.append(Rejection(row, "not flagged for detection (to_ids is false)"))
            continue
        _accept(result, ParsedIndicator(
            row, kind, value, severity=severity, confidence=75.0, tlp=tlp, source=source,
            threat_type=event.get("info"), description=attr.get("comment") or event.get("info"),
            first_seen=_timestamp(attr.get("first_seen") or attr.get("timestamp")),
        ))
    return result


# CSV ------------------------------------------------------------------------------------------

def parse_csv(text: str, source: str = "csv") -> ParseResult:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    headers = [h.strip().lower() for h in reader.fieldnames or []]
    if not all(h in headers for h in CSV_REQUIRED):
        raise ImportFormatError("CSV needs a header with at least the columns: type, value")
    result = ParseResult("csv")
    for raw in reader:
        line_no = reader.line_num  # the physical line (DictReader skips blank lines)
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if k is not None}
        if not any(row.values()):
            continue
        where = f"line {line_no}"
        try:
            confidence = float(row.get("confidence") or 50)
            if not 0 <= confidence <= 100:
                raise ValueError
        except ValueError:
            result.rejections.append(Rejection(where, "confidence must be a number from 0 to 100"))
            continue
        severity = (row.get("severity") or "medium").lower()
        if severity not in SEVERITIES:
            result.rejections.append(Rejection(where, f"severity must be one of {', '.join(SEVERITIES)}"))
            continue
        expires = _timestamp(row.get("expires_at"))
        if row.get("expires_at") and expires is None:
            result.rejections.append(Rejection(where, "expires_at is not an ISO date"))
            continue
        _accept(result, ParsedIndicator(
            where, row.get("type", "").lower(), row.get("value", ""), severity=severity, confidence=confidence,
            tlp=(row.get("tlp") or "amber").lower(), source=row.get("source") or source,
            threat_type=row.get("threat_type") or None, description=row.get("description") or None, expires_at=expires,
        ))
    return result


def parse_file(name: str, content: bytes) -> ParseResult:
    """Detect the format (by content, then by name) and parse it."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFormatError("the file is not UTF-8 text") from exc
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ImportFormatError(f"invalid JSON: {exc.msg} at line {exc.lineno}") from exc
        if isinstance(data, dict) and data.get("type") == "bundle":
            return parse_stix(data)
        return parse_misp(data)
    if name.lower().endswith(".json"):
        raise ImportFormatError("the .json file does not hold a JSON object")
    return parse_csv(text)
