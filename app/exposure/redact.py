"""Finding secrets in public text (code, pastes) and keeping only their masked form and HMAC.

A found value is replaced in the context by its mask (first four characters, last two, and
its length), and stored as that mask plus an HMAC under the server's password HMAC key, so
the same leaked secret is recognised across findings without being kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.exposure import keys

PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("aws_access_key", re.compile(r"\b(AKIA[0-9A-Z]{16})\b")),
    ("github_token", re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{36,255})\b")),
    ("slack_token", re.compile(r"\b(xox[abprs]-[A-Za-z0-9-]{10,200})\b")),
    ("private_key", re.compile(r"(-----BEGIN [A-Z ]*PRIVATE KEY-----)")),
    ("password", re.compile(r"(?i)\b(?:password|passwd|pwd|secret|api[_-]?key|token)\b[\"']?\s*[:=]\s*[\"']?([^\s\"',;]{4,200})")),
    # A combolist line (e-mail, separator, password), the usual leak in a paste.
    ("credential_pair", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+ ?[:;|] ?([^\s\"',;|/]{4,200})(?=[\s\"',;|]|$)")),
)


# The data class a found secret adds to a hit ("Passwords" is what breach services say too).
SECRET_CLASSES = {"password": "Passwords", "credential_pair": "Passwords"}
OTHER_SECRETS = "Credentials"  # keys, tokens, private keys


@dataclass(frozen=True)
class Secret:
    kind: str
    masked: str
    hmac: str


def redact(text: str, hmac_key: bytes) -> tuple[str, list[Secret]]:
    """The text with every secret masked, and the secrets found (masked + HMAC)."""
    found: list[Secret] = []
    for kind, pattern in PATTERNS:
        def replace(match: re.Match[str], kind: str = kind) -> str:
            value = match.group(1)
            masked = keys.mask_secret(value)
            found.append(Secret(kind, masked, keys.password_hmac(value, hmac_key)))
            return match.group(0).replace(value, masked)

        text = pattern.sub(replace, text)
    return text, found


def data_classes(found: list[Secret]) -> list[str]:
    """What kinds of data the secrets found are, in breach-service words, each once."""
    return sorted({SECRET_CLASSES.get(s.kind, OTHER_SECRETS) for s in found})
