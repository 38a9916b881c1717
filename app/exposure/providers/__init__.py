"""Ghost-search sources, in the order the results page lists them."""

from app.exposure.providers.base import Provider
from app.exposure.providers.github import GithubCode
from app.exposure.providers.local import LocalCorpus, VigilIntel
from app.exposure.providers.paste import PasteSearch
from app.exposure.providers.remote import Hibp, LeakCheck, PwnedPasswords, XposedOrNot

PROVIDERS: dict[str, Provider] = {p.key: p for p in (
    LocalCorpus(), VigilIntel(), Hibp(), PwnedPasswords(), XposedOrNot(), LeakCheck(), GithubCode(), PasteSearch(),
)}

__all__ = ["PROVIDERS", "Provider"]
