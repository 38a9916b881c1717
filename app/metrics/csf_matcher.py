"""The metrics domain's CSF matcher on the seam app/core/csf_mapping.py, so compliance can
suggest and check the NIST CSF subcategories of its controls without importing metrics."""

from __future__ import annotations

import sqlalchemy as sa

from app.core.csf_mapping import register_csf_matcher
from app.metrics.catalogs import provider_for
from app.metrics.mapping import Suggestion
from app.metrics.services import current_framework
from app.models import FrameworkCategory, FrameworkFunction, FrameworkSubcategory, db


def suggest(org_id: int, text: str, top: int) -> list[Suggestion]:
    """The organization's mapping provider's best subcategories of the current framework."""
    framework = current_framework()
    if framework is None:
        return []
    return provider_for(org_id, framework).suggest(text, top=top)


def is_subcategory(code: str) -> bool:
    """Whether `code` is a subcategory of the current framework (False: none loaded)."""
    framework = current_framework()
    if framework is None:
        return False
    return db.session.scalar(sa.select(FrameworkSubcategory.id)
                             .join(FrameworkCategory, FrameworkSubcategory.category_id == FrameworkCategory.id)
                             .join(FrameworkFunction, FrameworkCategory.function_id == FrameworkFunction.id)
                             .where(FrameworkFunction.framework_id == framework.id,
                                    FrameworkSubcategory.code == code)) is not None


register_csf_matcher(suggest, is_subcategory)
