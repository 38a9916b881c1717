"""The side navigation as a registry: each domain registers its own section.

A domain calls `register_section(...)` from its package's `__init__.py`; the shell
renders the registered sections in `order`, each entry filtered by page existence and
permission. Adding a domain therefore never edits this file or the base template.
"""

from __future__ import annotations

from dataclasses import dataclass, field

NavEntry = tuple[str, str, str, str]  # (endpoint, icon, label, permission)


@dataclass
class NavSection:
    key: str
    title: str
    order: int
    entries: list[NavEntry] = field(default_factory=list)


SECTIONS: dict[str, NavSection] = {}


def register_section(key: str, title: str, order: int, entries: list[NavEntry]) -> NavSection:
    """Register (or extend) the navigation section `key`; entries keep their given order."""
    section = SECTIONS.get(key)
    if section is None:
        section = SECTIONS[key] = NavSection(key, title, order)
    for entry in entries:
        if entry[0] not in {e[0] for e in section.entries}:
            section.entries.append(entry)
    return section


def sections() -> list[NavSection]:
    """Registered sections, lowest `order` first."""
    return sorted(SECTIONS.values(), key=lambda s: (s.order, s.key))


def all_entries() -> list[NavEntry]:
    return [entry for section in sections() for entry in section.entries]
