"""The NIST CSF seam (issue 21): the metrics domain owns the CSF reference data and the
offline text matcher (app/metrics/mapping.py) and registers them here
(app/metrics/csf_matcher.py); compliance asks which subcategories a control's text is about,
and whether a code is one of the current framework's, without importing metrics.

Nothing registered reads as "no CSF loaded": no suggestions, and no code is a subcategory.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class Suggestion(Protocol):
    """What a reader uses of a suggestion (app/metrics/mapping.py makes them)."""

    code: str
    function_code: str
    category_code: str
    confidence: float


# (org_id, text, top) -> the best subcategories for the text, best first
Suggester = Callable[[int, str, int], list[Suggestion]]
# code -> whether it is a subcategory of the current framework
SubcategoryCheck = Callable[[str], bool]
MATCHERS: list[tuple[Suggester, SubcategoryCheck]] = []


def register_csf_matcher(suggest: Suggester, is_subcategory: SubcategoryCheck) -> None:
    """Make `suggest` and `is_subcategory` the CSF matcher (registering again replaces it)."""
    MATCHERS[:] = [(suggest, is_subcategory)]


def suggest_subcategories(org_id: int, text: str, top: int) -> list[Suggestion]:
    """Up to `top` subcategories the text is about, best first (none: no CSF loaded)."""
    return MATCHERS[0][0](org_id, text, top) if MATCHERS else []


def is_subcategory(code: str) -> bool:
    """Whether `code` is a subcategory of the current framework."""
    return MATCHERS[0][1](code) if MATCHERS else False
