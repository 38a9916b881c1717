"""The side navigation as a registry: each domain registers its own section.

A domain calls `register_section(...)` from its package's `__init__.py`; the shell renders
a short top level (Home, then entries others add with `register_top`, such as Alerts and
Search), then the registered sections in `order`, each a collapsible group, and the pages of
the current page's section as tabs above the page (templates/_nav_tabs.html). Every entry is
filtered by page existence and permission. Adding a domain therefore never edits this file
or the base template.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

NavEntry = tuple[str, str, str, str]  # (endpoint, icon, label, permission)

TOP_KEY = "home"  # the untitled section: its entries are the top level
TOP_DEFAULT_ORDER = 100


@dataclass
class NavSection:
    key: str
    title: str
    order: int
    entries: list[NavEntry] = field(default_factory=list)
    icon: str | None = None

    @property
    def section_icon(self) -> str:
        return self.icon or (self.entries[0][1] if self.entries else "folder")


SECTIONS: dict[str, NavSection] = {}
# endpoint -> position among the top-level entries (register_top); others come after.
TOP_ORDER: dict[str, int] = {}


def register_section(key: str, title: str, order: int, entries: list[NavEntry],
                     icon: str | None = None) -> NavSection:
    """Register (or extend) the navigation section `key`; entries keep their given order."""
    section = SECTIONS.get(key)
    if section is None:
        section = SECTIONS[key] = NavSection(key, title, order, icon=icon)
    for entry in entries:
        if entry[0] not in {e[0] for e in section.entries}:
            section.entries.append(entry)
    return section


def register_top(entry: NavEntry, order: int) -> None:
    """A top-level entry (Home 0; e.g. Alerts 10, Search 20), above the domain sections.
    It replaces an entry for the same endpoint registered there before (its label wins)."""
    section = register_section(TOP_KEY, "", 0, [])
    section.entries = [e for e in section.entries if e[0] != entry[0]] + [entry]
    TOP_ORDER[entry[0]] = order


def sections() -> list[NavSection]:
    """Registered sections, lowest `order` first."""
    return sorted(SECTIONS.values(), key=lambda s: (s.order, s.key))


def all_entries() -> list[NavEntry]:
    return [entry for section in sections() for entry in section.entries]


@dataclass
class NavGroup:
    key: str
    title: str
    icon: str
    entries: list[NavEntry]
    active: bool


@dataclass
class NavTree:
    top: list[NavEntry]
    groups: list[NavGroup]
    tabs: list[NavEntry]  # the current section's pages (empty when fewer than two)


def nav_tree(visible: Callable[[list[NavEntry]], list[NavEntry]], active: str | None) -> NavTree:
    """What the shell draws for this user on this page: `visible` filters entries (page
    exists, permission held), `active` is the current page's entry endpoint."""
    top: list[NavEntry] = []
    groups: list[NavGroup] = []
    tabs: list[NavEntry] = []
    for section in sections():
        entries = visible(section.entries)
        if not entries:
            continue
        if not section.title:
            top += entries
            continue
        is_active = any(e[0] == active for e in entries)
        groups.append(NavGroup(section.key, section.title, section.section_icon, entries, is_active))
        if is_active and len(entries) > 1:
            tabs = entries
    ranked = {e[0]: i for i, e in enumerate(top)}
    top.sort(key=lambda e: (TOP_ORDER.get(e[0], TOP_DEFAULT_ORDER), ranked[e[0]]))
    return NavTree(top, groups, tabs)
