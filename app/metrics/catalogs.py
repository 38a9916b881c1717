"""Rules of metric catalogs: the default catalog, the import wizard's steps, mapping
suggestions and their review, activation into the organization's metrics, clone, export.

Views call these; none of them commits (the caller does), so every step is one transaction.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from app import audit
from app.metrics import catalog_files, services
from app.metrics.live import LIVE_QUERIES
from app.metrics.mapping import MappingProvider, SubcategoryText, TfidfMatcher, metric_text
from app.models import (
    AiChangeLog,
    Framework,
    FrameworkCategory,
    FrameworkFunction,
    FrameworkSubcategory,
    Metric,
    MetricCatalog,
    MetricCatalogFrameworkMapping,
    MetricCatalogImport,
    MetricCatalogItem,
    db,
    utcnow,
)

DEFAULT_CATALOG_FILE = Path(__file__).resolve().parent.parent.parent / "data" / "metrics" / "default-catalog.json"
TOP_SUGGESTIONS = 3
ITEM_FIELDS = ("name", "description", "current_value", "target_value", "target_lower", "target_upper", "unit",
               "direction", "priority", "function_code", "category_code", "live_source")


class CatalogNotReady(Exception):
    """Activation refused: some items have no CSF function yet."""

    def __init__(self, items: list[MetricCatalogItem]):
        super().__init__("Some items have no CSF function: set one or confirm a mapping first.")
        self.items = items


# Framework lookups ---------------------------------------------------------------------

def category_functions(framework: Framework | None) -> dict[str, str]:
    """{category code: function code} of the framework."""
    return {c.code: c.function.code for c in services.categories_of(framework)}


def subcategory_texts(framework: Framework) -> list[SubcategoryText]:
    """The text the matcher compares with: outcome, examples, category name (twice), function name."""
    rows = db.session.execute(
        sa.select(FrameworkSubcategory, FrameworkCategory, FrameworkFunction)
        .join(FrameworkCategory, FrameworkSubcategory.category_id == FrameworkCategory.id)
        .join(FrameworkFunction, FrameworkCategory.function_id == FrameworkFunction.id)
        .where(FrameworkFunction.framework_id == framework.id)
        .order_by(FrameworkFunction.sort_order, FrameworkCategory.sort_order, FrameworkSubcategory.sort_order)).all()
    return [SubcategoryText(
        sub.code, fn.code, cat.code,
        " ".join([sub.description, *(ex.get("text", "") for ex in sub.implementation_examples or []),
                  cat.name, cat.name, fn.name]), key=sub.id) for sub, cat, fn in rows]


def provider_for(org_id: int, framework: Framework) -> MappingProvider:
    """The mapping provider of an organization: the offline matcher (no AI provider is configured).

    A networked AI provider would implement `MappingProvider` and be chosen here from the
    organization's settings; nothing else changes, and the offline matcher stays the fallback.
    """
    return TfidfMatcher(subcategory_texts(framework))


def log_change(org_id: int, action: str, source: str, *, user: Any = None, provider: MappingProvider | None = None,
               prompt: str | None = None, result: Any = None, resource: tuple[str, int] | None = None) -> AiChangeLog:
    """One ai_change_log row: what an automated step suggested or changed, and for whom."""
    row = AiChangeLog(org_id=org_id, action=action, source=source, mode=getattr(provider, "mode", None),
                      user_id=getattr(user, "id", None), prompt=prompt, result=result,
                      ai_provider=getattr(provider, "name", None), ai_model=getattr(provider, "model", None),
                      resource_type=resource[0] if resource else None, resource_id=resource[1] if resource else None)
    db.session.add(row)
    return row


# Suggestions and review ----------------------------------------------------------------

def _suggest(org_id: int, provider: MappingProvider, framework: Framework, text: str, function_code: str | None,
             user: Any, source: str, **target: Any) -> list[MetricCatalogFrameworkMapping]:
    return store_suggestions(org_id, provider, framework.id, text, provider.suggest(text, function_code,
                                                                                     TOP_SUGGESTIONS),
                             user, source, **target)


def store_suggestions(org_id: int, provider: MappingProvider, framework_id: int, text: str,
                      suggestions: list[Any], user: Any, source: str, tokens: int | None = None,
                      **target: Any) -> list[MetricCatalogFrameworkMapping]:
    """Suggested mapping rows for a catalog item or a metric, and their ai_change_log row."""
    rows = [MetricCatalogFrameworkMapping(
        org_id=org_id, framework_id=framework_id, subcategory_id=s.key, function_code=s.function_code,
        category_code=s.category_code, subcategory_code=s.code, confidence=Decimal(str(s.confidence)),
        is_ai_suggested=provider.mode == "ai", provider=provider.name, status="suggested", **target)
        for s in suggestions]
    db.session.add_all(rows)
    resource = ("metric_catalog_item", target["catalog_item_id"]) if "catalog_item_id" in target \
        else ("metric", target["metric_id"])
    row = log_change(org_id, "mapping.suggested", source, user=user, provider=provider, prompt=text,
                     result={"suggestions": [{"code": s.code, "confidence": s.confidence} for s in suggestions]},
                     resource=resource)
    row.tokens_used = tokens
    return rows


def suggest_for_catalog(catalog: MetricCatalog, user: Any) -> int:
    """Suggestions for every item of a catalog that has none pending or confirmed yet."""
    framework = services.current_framework()
    if framework is None:
        return 0
    provider = provider_for(catalog.org_id, framework)
    db.session.flush()
    count = 0
    for item in catalog.items:
        if any(m.status != "rejected" for m in item.mappings):
            continue
        count += len(_suggest(catalog.org_id, provider, framework,
                              metric_text(item.name, item.description, item.unit), item.function_code, user,
                              "catalog_import", catalog_item_id=item.id))
    return count


def suggest_for_metric(metric: Metric, user: Any) -> list[MetricCatalogFrameworkMapping]:
    """Fresh suggestions for one metric (earlier pending ones are replaced)."""
    framework = services.current_framework()
    db.session.execute(sa.delete(MetricCatalogFrameworkMapping).where(
        MetricCatalogFrameworkMapping.metric_id == metric.id, MetricCatalogFrameworkMapping.status == "suggested"))
    rows = _suggest(metric.org_id, provider_for(metric.org_id, framework), framework,
                    metric_text(metric.name, metric.description, metric.unit), metric.function.code, user, "metric",
                    metric_id=metric.id)
    audit.record("metric.mapping_suggested", resource_type="metric", resource_id=metric.id,
                 details={"suggestions": [r.subcategory_code for r in rows]})
    return rows


def review_mapping(mapping: MetricCatalogFrameworkMapping, user: Any, confirm: bool) -> None:
    """Confirm (a link) or reject a suggestion; a confirmed one gives an item without a function its codes."""
    status = "confirmed" if confirm else "rejected"
    if mapping.status == status:
        return
    old = mapping.status
    mapping.status, mapping.is_confirmed = status, confirm
    mapping.reviewed_by_id, mapping.reviewed_at = getattr(user, "id", None), utcnow()
    item = mapping.catalog_item
    if confirm and item is not None and not item.function_code:
        item.function_code, item.category_code = mapping.function_code, mapping.category_code
    db.session.flush()
    resource = ("metric_catalog_item", item.id) if item is not None else ("metric", mapping.metric_id)
    log_change(mapping.org_id, f"mapping.{status}", "review", user=user,
               result={"subcategory": mapping.subcategory_code, "confidence": float(mapping.confidence or 0),
                       "provider": mapping.provider}, resource=resource)
    audit.record(f"metric_mapping.{status}", resource_type="metric_mapping", resource_id=mapping.id,
                 old={"status": old}, new={"status": status},
                 details={"subcategory": mapping.subcategory_code, "resource": f"{resource[0]}:{resource[1]}"})


# Creating catalogs ---------------------------------------------------------------------

def create_catalog(org_id: int, user: Any, name: str, items: list[dict[str, Any]], *, description: str | None = None,
                   source_file: str | None = None, metadata: dict | None = None,
                   is_default: bool = False) -> MetricCatalog:
    """A catalog with its items and their mapping suggestions, in the caller's transaction."""
    catalog = MetricCatalog(org_id=org_id, name=name, description=description, owner_id=getattr(user, "id", None),
                            source_file=source_file, import_metadata=metadata, is_default=is_default)
    db.session.add(catalog)
    for values in items:
        catalog.items.append(MetricCatalogItem(org_id=org_id, **values))
    db.session.flush()
    suggested = suggest_for_catalog(catalog, user)
    audit.record("metric_catalog.created", resource_type="metric_catalog", resource_id=catalog.id,
                 new={"name": name, "items": len(items)},
                 details={"source_file": source_file, "suggestions": suggested, "default": is_default})
    return catalog


def default_catalog_items(path: Path = DEFAULT_CATALOG_FILE) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The default catalog's header and its items as item values."""
    data = json.loads(path.read_text())

    def dec(value: Any) -> Decimal | None:
        return None if value is None else Decimal(str(value))

    items = [{
        "line_number": i, "original_data": m, "name": m["name"], "description": m.get("description"),
        "direction": m["direction"], "priority": m.get("priority", "Medium"), "function_code": m["function"],
        "category_code": m.get("category"), "unit": m.get("unit"), "target_value": dec(m.get("target")),
        "target_lower": dec(m.get("target_lower")), "target_upper": dec(m.get("target_upper")),
        "current_value": None, "live_source": m.get("live_source"),
    } for i, m in enumerate(data["metrics"], 1)]
    return data, items


def create_default_catalog(org_id: int, user: Any) -> MetricCatalog:
    data, items = default_catalog_items()
    return create_catalog(org_id, user, data["name"], items, description=data.get("description"),
                          source_file=DEFAULT_CATALOG_FILE.name, metadata={"version": data.get("version")},
                          is_default=True)


def stage_upload(org_id: int, user: Any, filename: str, content: bytes) -> MetricCatalogImport:
    """Step 1: read the file and keep its rows in the database for the next steps."""
    fmt, headers, rows = catalog_files.read_file(filename, content)
    staged = MetricCatalogImport(org_id=org_id, user_id=getattr(user, "id", None), filename=filename[:500],
                                 file_format=fmt, headers=headers, rows=rows,
                                 column_map=catalog_files.guess_columns(headers))
    db.session.add(staged)
    db.session.flush()
    audit.record("metric_catalog.upload_staged", resource_type="metric_catalog_import", resource_id=staged.id,
                 details={"file": filename, "format": fmt, "rows": len(rows), "columns": len(headers)})
    return staged


def apply_import(staged: MetricCatalogImport, user: Any, column_map: dict[str, str],
                 name: str) -> tuple[MetricCatalog | None, catalog_files.CheckedRows]:
    """Step 2: check every row under the mapping; all good -> the catalog (and suggestions), else nothing."""
    checked = catalog_files.check_rows(staged.headers, staged.rows, column_map,
                                       category_functions(services.current_framework()), frozenset(LIVE_QUERIES))
    if checked.problems:
        return None, checked
    catalog = create_catalog(staged.org_id, user, name, checked.items, source_file=staged.filename,
                             metadata={"format": staged.file_format, "column_map": column_map,
                                       "rows": len(checked.items)})
    db.session.delete(staged)
    return catalog, checked


def clone_catalog(catalog: MetricCatalog, user: Any) -> MetricCatalog:
    """A copy owned by the user, with the same items and mapping decisions (inactive)."""
    copy = MetricCatalog(org_id=catalog.org_id, name=f"Copy of {catalog.name}"[:200], description=catalog.description,
                         owner_id=getattr(user, "id", None), source_file=catalog.source_file,
                         import_metadata={**(catalog.import_metadata or {}), "cloned_from": catalog.id})
    db.session.add(copy)
    for item in catalog.items:
        new = MetricCatalogItem(org_id=catalog.org_id, line_number=item.line_number,
                                original_data=item.original_data, is_enhanced=item.is_enhanced,
                                **{f: getattr(item, f) for f in ITEM_FIELDS})
        for m in item.mappings:
            new.mappings.append(MetricCatalogFrameworkMapping(
                org_id=m.org_id, framework_id=m.framework_id, subcategory_id=m.subcategory_id,
                function_code=m.function_code, category_code=m.category_code, subcategory_code=m.subcategory_code,
                confidence=m.confidence, is_ai_suggested=m.is_ai_suggested, provider=m.provider, status=m.status,
                is_confirmed=m.is_confirmed, reviewed_by_id=m.reviewed_by_id, reviewed_at=m.reviewed_at))
        copy.items.append(new)
    db.session.flush()
    audit.record("metric_catalog.cloned", resource_type="metric_catalog", resource_id=copy.id,
                 new={"name": copy.name, "items": len(copy.items)}, details={"from": catalog.id})
    return copy


# Activation ----------------------------------------------------------------------------

def _category_for(item: MetricCatalogItem, function: Any, codes: dict[str, Any]) -> tuple[Any, bool]:
    """(the category an activated metric gets, whether it was only inferred from the function).

    A metric never ends up without a category: the item's own code when it belongs to the
    function, else the category of a confirmed subcategory link in that function, else the
    function's first category (counted, so the activation message can say so).
    """
    category = codes["categories"].get(item.category_code or "")
    if category is not None and category.function_id == function.id:
        return category, False
    linked = db.session.scalars(
        sa.select(FrameworkCategory).join(FrameworkSubcategory, FrameworkSubcategory.category_id == FrameworkCategory.id)
        .join(MetricCatalogFrameworkMapping, MetricCatalogFrameworkMapping.subcategory_id == FrameworkSubcategory.id)
        .where(MetricCatalogFrameworkMapping.catalog_item_id == item.id,
               MetricCatalogFrameworkMapping.status == "confirmed", FrameworkCategory.function_id == function.id)
        .order_by(FrameworkCategory.sort_order).limit(1)).first()
    if linked is not None:
        return linked, False
    first = next((c for c in codes["categories"].values() if c.function_id == function.id), None)
    return first, first is not None


def _metric_values(item: MetricCatalogItem, codes: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    function = codes["functions"][item.function_code]
    category, guessed = _category_for(item, function, codes)
    return {"name": item.name, "description": item.description, "direction": item.direction,
            "target_value": item.target_value, "target_lower": item.target_lower, "target_upper": item.target_upper,
            "unit": item.unit, "priority": item.priority, "function_id": function.id,
            "category_id": category.id if category is not None else None,
            "catalog_id": item.catalog_id, "catalog_item_id": item.id}, guessed


def activate(catalog: MetricCatalog, user: Any) -> dict[str, int]:
    """Make the catalog its owner's active one and create or update the org's metrics from its items."""
    not_ready = [i for i in catalog.items if i.function_code is None]
    if not_ready:
        raise CatalogNotReady(not_ready)
    framework = services.current_framework()
    codes = {"functions": {f.code: f for f in services.functions_of(framework)},
             "categories": {c.code: c for c in services.categories_of(framework)}}
    if catalog.owner_id is None:  # a catalog added from the command line becomes the activating user's
        catalog.owner_id = getattr(user, "id", None)
    db.session.execute(sa.update(MetricCatalog).where(
        MetricCatalog.org_id == catalog.org_id, MetricCatalog.owner_id == catalog.owner_id,
        MetricCatalog.id != catalog.id, MetricCatalog.is_active.is_(True)).values(is_active=False))
    db.session.flush()
    catalog.is_active, catalog.activated_at = True, utcnow()
    existing = services.org_metrics(catalog.org_id)
    by_item = {m.catalog_item_id: m for m in existing if m.catalog_item_id}
    by_name = {m.name.casefold(): m for m in existing}
    counts = {"created": 0, "updated": 0, "unchanged": 0, "locked": 0, "links": 0, "live_offered": 0,
              "category_from_function": 0}
    for item in catalog.items:
        values, guessed = _metric_values(item, codes)
        counts["category_from_function"] += guessed
        metric = by_item.get(item.id) or by_name.get(item.name.casefold())
        live = item.live_source if item.live_source in LIVE_QUERIES else None
        if metric is None:
            values.update(current_value=item.current_value, live_source=live)
            values = services.with_live_value({**values, "org_id": catalog.org_id})
            values.pop("org_id")
            metric = services.create_metric(catalog.org_id, user, **values)
            counts["created"] += 1
        elif metric.is_locked:
            counts["locked"] += 1
            continue
        else:
            if metric.current_value is None and item.current_value is not None and not metric.live_source:
                values["current_value"] = item.current_value
            # A hand-entered metric keeps its values even when the item names a live query: counted,
            # so the page can say that the switch is one edit away.
            counts["live_offered"] += bool(live and not metric.live_source)
            counts["updated" if services.update_metric(metric, user, **values) else "unchanged"] += 1
        counts["links"] += _link_confirmed(item, metric)
    audit.record("metric_catalog.activated", resource_type="metric_catalog", resource_id=catalog.id,
                 new={"is_active": True, "owner_id": catalog.owner_id}, details=counts)
    return counts


def _link_confirmed(item: MetricCatalogItem, metric: Metric) -> int:
    """Copy the item's confirmed subcategory links onto the metric (once each)."""
    have = set(db.session.scalars(sa.select(MetricCatalogFrameworkMapping.subcategory_id).where(
        MetricCatalogFrameworkMapping.metric_id == metric.id, MetricCatalogFrameworkMapping.status == "confirmed")))
    added = 0
    for m in item.mappings:
        if m.status == "confirmed" and m.subcategory_id not in have:
            db.session.add(MetricCatalogFrameworkMapping(
                org_id=m.org_id, metric_id=metric.id, framework_id=m.framework_id, subcategory_id=m.subcategory_id,
                function_code=m.function_code, category_code=m.category_code, subcategory_code=m.subcategory_code,
                confidence=m.confidence, is_ai_suggested=m.is_ai_suggested, provider=m.provider, status="confirmed",
                is_confirmed=True, reviewed_by_id=m.reviewed_by_id, reviewed_at=m.reviewed_at))
            added += 1
    return added


# Reading -------------------------------------------------------------------------------

def export_rows(catalog: MetricCatalog) -> list[dict[str, Any]]:
    return [{"name": i.name, "description": i.description, "function": i.function_code, "category": i.category_code,
             "direction": i.direction, "unit": i.unit, "target": i.target_value, "target_lower": i.target_lower,
             "target_upper": i.target_upper, "current": i.current_value, "priority": i.priority,
             "live_source": i.live_source, "subcategories": " ".join(m.subcategory_code for m in i.mappings if m.status == "confirmed")}
            for i in catalog.items]


def item_subcategory_ids(item_id: int) -> set[int | None]:
    return set(db.session.scalars(sa.select(MetricCatalogFrameworkMapping.subcategory_id).where(
        MetricCatalogFrameworkMapping.catalog_item_id == item_id)))


def metric_links(metric: Metric) -> list[MetricCatalogFrameworkMapping]:
    """A metric's subcategory links and pending suggestions (rejected ones left out)."""
    return db.session.scalars(sa.select(MetricCatalogFrameworkMapping).where(
        MetricCatalogFrameworkMapping.metric_id == metric.id, MetricCatalogFrameworkMapping.status != "rejected")
        .order_by(MetricCatalogFrameworkMapping.status, MetricCatalogFrameworkMapping.confidence.desc())).all()


def linked_metric_counts(org_id: int) -> dict[int, int]:
    """{subcategory id: metrics of the org with a confirmed link to it} (the reference page's coverage)."""
    rows = db.session.execute(
        sa.select(MetricCatalogFrameworkMapping.subcategory_id,
                  sa.func.count(sa.distinct(MetricCatalogFrameworkMapping.metric_id)))
        .join(Metric, Metric.id == MetricCatalogFrameworkMapping.metric_id)
        .where(MetricCatalogFrameworkMapping.org_id == org_id, MetricCatalogFrameworkMapping.status == "confirmed",
               Metric.deleted_at.is_(None))
        .group_by(MetricCatalogFrameworkMapping.subcategory_id)).all()
    return {sub_id: n for sub_id, n in rows}


def review_counts(catalog: MetricCatalog) -> dict[str, int]:
    counts = {"suggested": 0, "confirmed": 0, "rejected": 0}
    for item in catalog.items:
        for m in item.mappings:
            counts[m.status] += 1
    return counts
