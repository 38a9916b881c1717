"""Framework mapping suggestions: which CSF subcategories a metric's text is about.

The offline method needs no service and gives the same answer every time: TF-IDF vectors
with cosine similarity, computed here in plain Python. Each subcategory's document is its
outcome statement, its implementation examples, its category's name and its function's
name; the metric's document is its name, description and unit. Words are lower-cased,
stripped of a few suffixes ("stemming-light"), and stop words (English plus words every
CSF text uses, like "organization" or "cybersecurity") are dropped. A short list of
security terms that the CSF text never spells out ("phishing", "MFA", "MTTD") is expanded
into the words the CSF uses for them.

Confidence is the cosine similarity (0..1) scaled so the best possible match of a short
metric text reads near 1: min(1, cosine / CONFIDENCE_SCALE), rounded to 4 places.

An AI provider can be plugged in behind the same `MappingProvider` interface; nothing
requires one (see `provider_for`).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Protocol

CONFIDENCE_SCALE = 0.8
MIN_CONFIDENCE = 0.05
# A metric that names its function keeps suggestions of other functions only if they are
# much stronger: their similarity is multiplied by this.
OTHER_FUNCTION_FACTOR = 0.5

STOP_WORDS = frozenset("""
a about above after all also an and any are as at be been before being between both but by can
could did do does each either for from had has have how if in into is it its itself more most
no not of on once only or other our out over own per same should so some such than that the
their them then there these they this those through to too under until up very was we were what
when where which while who whom why will with within would you your yes
organization organizational organizations cybersecurity cyber ensure ensures ensured establish
established establishing including include includes example examples e g etc relevant
appropriate appropriately used using use based related across applicable whether number share
percentage percent rate average count total last days day months month year years hours hour mean
time times minutes past older than
""".split())

# Security vocabulary that metric names use and CSF text does not: expanded into CSF words.
EXPANSIONS = {
    "phish": "awareness training social engineering",
    "mfa": "multi factor authentication credential",
    "2fa": "multi factor authentication credential",
    "mttd": "detect detection adverse event",
    "mttr": "incident respond recovery",
    "edr": "endpoint detection monitor malware",
    "siem": "security information event log monitor analyz",
    "patch": "vulnerability update software maintain",
    "backup": "backup restore data",
    "restor": "restore recovery backup",
    "encrypt": "data confidentiality integrity protect",
    "dlp": "data loss confidentiality protect",
    "firewall": "network infrastructure protect",
    "waf": "network web application protect",
    "supplier": "supplier supply chain third party",
    "vendor": "supplier supply chain third party",
    "board": "oversight leadership governance",
    "audit": "oversight review",
    "tabletop": "exercise test incident response plan",
    "heartbeat": "monitor hardware network",
    "detect": "adverse event monitor analyz",
    "contain": "incident mitigat contain",
    "root": "incident analysis cause",
    "policy": "policy policies governance",
    "polic": "policy governance communicat enforce",
    "account": "identity credential access",
    "leaver": "identity credential access revok",
    "dormant": "identity credential access",
    "privileg": "access permission least privilege",
    "malicious": "mitigat contain block",
    "wireless": "network monitor",
    "ioc": "threat intelligence indicator",
}

SUFFIXES = ("ational", "ations", "ation", "ities", "ments", "ment", "ness", "ings", "ing", "ies", "ied",
            "ed", "es", "ly", "s")


def stem(word: str) -> str:
    """Strip one common English suffix, keeping at least four letters."""
    for suffix in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def tokens(text: str) -> list[str]:
    """Normalised terms of a text, with the security vocabulary expanded."""
    out: list[str] = []
    for raw in re.findall(r"[a-z0-9]+", (text or "").lower()):
        if raw in STOP_WORDS or raw.isdigit() or len(raw) < 2:
            continue
        word = stem(raw)
        out.append(word)
        for key, extra in EXPANSIONS.items():
            if word.startswith(key):
                out.extend(stem(w) for w in extra.split())
                break
    return out


@dataclass(frozen=True)
class SubcategoryText:
    """What the matcher knows about one subcategory."""

    code: str
    function_code: str
    category_code: str
    text: str
    key: object = None  # the caller's id, handed back in suggestions


@dataclass(frozen=True)
class Suggestion:
    code: str
    function_code: str
    category_code: str
    confidence: float
    key: object = None


class MappingProvider(Protocol):
    """Anything that can suggest subcategories for a metric's text."""

    name: str
    model: str | None
    mode: str  # "offline" or "ai"

    def suggest(self, text: str, function_code: str | None = None, top: int = 3) -> list[Suggestion]: ...


class TfidfMatcher:
    """The offline provider: TF-IDF over the framework's subcategory texts."""

    name = "offline-tfidf"
    model = "tfidf-cosine-v1"
    mode = "offline"

    def __init__(self, subcategories: list[SubcategoryText]):
        self.subcategories = subcategories
        docs = [Counter(tokens(s.text)) for s in subcategories]
        frequency = Counter(term for doc in docs for term in doc)
        n = len(docs)
        self.idf = {term: math.log((1 + n) / (1 + df)) + 1 for term, df in frequency.items()}
        self.vectors = [self._weigh(doc) for doc in docs]

    def _weigh(self, counts: Counter) -> dict[str, float]:
        vector = {t: (1 + math.log(c)) * self.idf[t] for t, c in counts.items() if t in self.idf}
        norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
        return {t: v / norm for t, v in vector.items()}

    def similarity(self, text: str) -> list[float]:
        query = self._weigh(Counter(tokens(text)))
        return [sum(w * vec.get(t, 0.0) for t, w in query.items()) for vec in self.vectors]

    def suggest(self, text: str, function_code: str | None = None, top: int = 3) -> list[Suggestion]:
        """The `top` subcategories most similar to the text, best first (ties by code)."""
        scored = []
        for sub, cosine in zip(self.subcategories, self.similarity(text), strict=True):
            if function_code and sub.function_code != function_code:
                cosine *= OTHER_FUNCTION_FACTOR
            confidence = round(min(1.0, cosine / CONFIDENCE_SCALE), 4)
            if confidence >= MIN_CONFIDENCE:
                scored.append((confidence, sub))
        scored.sort(key=lambda pair: (-pair[0], pair[1].code))
        return [Suggestion(s.code, s.function_code, s.category_code, c, s.key) for c, s in scored[:top]]


def metric_text(name: str, description: str | None = None, unit: str | None = None) -> str:
    return " ".join(part for part in (name, description, unit) if part)
