"""What each kind of token is: one identifier format for all, the fake credential, the trigger.

Every token gets a 20-character identifier from the lowercase base-32 alphabet (a-z, 2-7):
valid in a URL path, a DNS label and a PostgreSQL user name, and, upper-cased, the body of
an AWS access key id. The *trigger* is the one value the honeypot recognises the token by
(unique across tokens): the identifier for the web kinds, the hostname for DNS, the access
key id for AWS, the user name for PostgreSQL.
"""

from __future__ import annotations

import re
import secrets
import string
from typing import Any

from app.bait import settings

ALPHABET = string.ascii_lowercase + "234567"
IDENTIFIER_LENGTH = 20
IDENTIFIER_RE = re.compile(r"[a-z2-7]{20}")
ALNUM = string.ascii_letters + string.digits

# kind -> (label, how the honeypot sees it, placement advice)
KINDS: dict[str, tuple[str, str, str]] = {
    "url": ("Web bug URL", "http", "Paste the link where only an intruder reads: a wiki page of admin "
            "passwords, an internal bookmark file, a ticket titled 'VPN credentials'."),
    "image": ("1x1 image", "image", "Embed the invisible image in an HTML e-mail, a web page or a "
              "document template; it fires when the content is rendered."),
    "qr": ("QR code", "http", "Print it on a 'Wi-Fi password' note or an asset label in a server room; "
           "it fires when someone scans it."),
    "html": ("HTML page", "image", "Drop the page in a file share or a web root ('backup-admin.html'); "
             "it fires when opened in a browser."),
    "dns": ("DNS hostname", "dns", "Put the hostname in a hosts file, an SSH config or a script's "
            "connection string; any lookup (ping, nslookup, a resolver) fires it."),
    "aws": ("AWS access key", "aws", "Place the file as ~/.aws/credentials or config on a build server "
            "or in a repository; any AWS call with the key fires it."),
    "api": ("API tokens (.env)", "api", "Commit the .env to a private repository or leave it in an "
            "application directory; using any of its Stripe, GitHub or Slack tokens fires it."),
    "postgres": ("PostgreSQL credentials", "postgres", "Put the connection string in a config file or "
                 "a password manager entry named 'prod database'; connecting fires it."),
    "kubeconfig": ("Kubeconfig", "kubernetes", "Leave it as ~/.kube/config on a jump host or in a "
                   "deployment repository; kubectl against it fires it."),
    "docx": ("Word document", "image", "Name it like something worth stealing ('salaries-2026.docx') "
             "in a file share; Word fetches the hidden image when it is opened."),
    "pdf": ("PDF document", "http", "Leave it in a share or mailbox; it fires when someone follows its "
            "link (PDF readers do not load remote content on their own)."),
}
WEB_KINDS = ("url", "image", "qr", "html", "docx", "pdf", "aws", "api", "kubeconfig")


class KindError(ValueError):
    pass


def new_identifier() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(IDENTIFIER_LENGTH))


def random_text(length: int, alphabet: str = ALNUM) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def aws_key_id(identifier: str) -> str:
    return "AKIA" + identifier[:16].upper()


def pg_user(identifier: str) -> str:
    return f"svc_{identifier}"


def token_url(identifier: str, suffix: str = "") -> str:
    """The honeypot URL of a token (its web bug), under the bait base URL."""
    return f"{settings.base_url()}/c/{identifier}{'/' + suffix if suffix else ''}"


def hostname(identifier: str) -> str:
    zone = settings.dns_zone()
    if not zone:
        raise KindError("DNS tokens need a zone: set VIGIL_BAIT_DNS_ZONE to a zone delegated to "
                        "`vigil bait dns-server`.")
    return f"{identifier}.{zone}"


def credential(kind: str, identifier: str) -> dict[str, Any]:
    """The fake credential a kind carries (sealed into token_value)."""
    if kind == "aws":
        return {"aws_access_key_id": aws_key_id(identifier),
                "aws_secret_access_key": random_text(40, ALNUM + "+/"), "region": "us-east-1"}
    if kind == "api":
        return {"stripe": "sk_live_" + random_text(24), "github": "ghp_" + random_text(36),
                "slack": f"xoxb-{random_text(12, string.digits)}-{random_text(13, string.digits)}-{random_text(24)}"}
    if kind == "postgres":
        return {"user": pg_user(identifier), "password": random_text(20), "database": "billing_prod",
                "host": settings.pg_host(), "port": settings.pg_port()}
    if kind == "kubeconfig":
        return {"token": random_text(48)}
    return {}


def trigger(kind: str, identifier: str) -> str:
    """The unique value the honeypot recognises this token by."""
    if kind not in KINDS:
        raise KindError(f"unknown kind {kind!r}; one of {', '.join(KINDS)}")
    if kind == "dns":
        return hostname(identifier)
    if kind == "aws":
        return aws_key_id(identifier)
    if kind == "postgres":
        return pg_user(identifier)
    return identifier


def find_identifier(text: str | None) -> str | None:
    """The first identifier-shaped run in a path, hostname or user name."""
    match = IDENTIFIER_RE.search((text or "").lower())
    return match.group(0) if match else None
