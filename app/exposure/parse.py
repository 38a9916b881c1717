"""Reading combolist and breach-dump lines into credentials (identity + password in memory).

Accepted, line by line and mixed in one file: `email:password`, `email;password`,
`email|password`, `email<TAB>password`, the same with spaces around the separator
(`email : password`), `username:password`, and a bare e-mail. A file whose first line is a
header naming an email or username column and a password column (any order, comma,
semicolon or tab separated) is read as CSV. Each line is UTF-8, or Latin-1 when it is not
valid UTF-8 (dumps mix both). A line that cannot be used becomes a Reject with its number
and a reason; the line's text never goes into the reason (it may hold a password).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

SEPARATORS = ":;|\t"
MAX_LINE = 4096
MAX_PASSWORD = 256
# Internationalised addresses (RFC 6531) are common in dumps: letters of any script are allowed.
EMAIL = re.compile(r"^[^\s@:;|,<>\"()\[\]\\]{1,64}@(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+"
                   r"(?:[^\W\d_]{2,63}|xn--[a-z0-9-]{1,59})$", re.IGNORECASE)
USERNAME = re.compile(r"^[^\s:;|@]{1,64}$")
EMAIL_HEADERS = ("email", "e-mail", "mail", "email_address", "emailaddress")
USER_HEADERS = ("username", "user", "login", "user_name", "account")
PASSWORD_HEADERS = ("password", "pass", "passwd", "pwd", "plaintext")


@dataclass(slots=True)
class Credential:
    line: int
    email: str | None
    username: str | None
    password: str | None

    @property
    def identity(self) -> str:
        return self.email or f"user:{self.username}"


@dataclass(frozen=True, slots=True)
class Reject:
    line: int
    reason: str


def decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def normalise_email(value: str) -> str | None:
    value = value.strip().strip('"').strip()
    return value.lower() if EMAIL.match(value) and len(value) <= 254 else None


def identity(value: str) -> tuple[str | None, str | None, str | None]:
    """(email, username, reason refused) for the part before the separator."""
    value = value.strip().strip('"').strip()
    if not value:
        return None, None, "no e-mail or username before the separator"
    if "@" in value:
        email = normalise_email(value)
        if email is None:
            return None, None, "not a valid e-mail address"
        return email, email.split("@", 1)[0], None
    if USERNAME.match(value):
        return None, value, None
    return None, None, "not a valid username (1-64 characters, no spaces)"


def parse_line(number: int, text: str) -> Credential | Reject | None:
    """One line (without its line ending); None for a blank line."""
    if not text.strip():
        return None
    if len(text) > MAX_LINE:
        return Reject(number, f"line longer than {MAX_LINE} characters")
    cut = min((i for i in (text.find(s) for s in SEPARATORS) if i >= 0), default=-1)
    if cut < 0:
        email = normalise_email(text)
        if email:
            return Credential(number, email, email.split("@", 1)[0], None)
        return Reject(number, "no separator (: ; | or tab) and not an e-mail address")
    left, password = text[:cut], text[cut + 1:]
    if left.endswith((" ", "\t")) and password.startswith((" ", "\t")):
        # `email : password`: the spaces belong to the separator, not the password.
        password = password.lstrip(" \t")
    email, username, reason = identity(left)
    if reason:
        return Reject(number, reason)
    if password == "":
        return Reject(number, "empty password after the separator")
    if len(password) > MAX_PASSWORD:
        return Reject(number, f"password longer than {MAX_PASSWORD} characters")
    return Credential(number, email, username, password)


def _header_columns(text: str) -> tuple[str, dict[str, int]] | None:
    """(delimiter, column index by role) when `text` is a CSV header naming the columns."""
    for delimiter in (",", ";", "\t", "|"):
        cells = [c.strip().strip('"').strip().lower() for c in text.split(delimiter)]
        if len(cells) < 2:
            continue
        roles: dict[str, int] = {}
        for index, cell in enumerate(cells):
            for role, names in (("email", EMAIL_HEADERS), ("username", USER_HEADERS), ("password", PASSWORD_HEADERS)):
                if cell in names and role not in roles:
                    roles[role] = index
        if "password" in roles and ("email" in roles or "username" in roles):
            return delimiter, roles
    return None


def _csv_rows(lines: Iterator[tuple[int, str]], delimiter: str, roles: dict[str, int]
              ) -> Iterator[Credential | Reject]:
    for number, text in lines:
        if not text.strip():
            continue
        try:
            cells = next(csv.reader([text], delimiter=delimiter))
        except csv.Error:
            yield Reject(number, "unreadable CSV row")
            continue
        if len(cells) <= max(roles.values()):
            yield Reject(number, "fewer columns than the header")
            continue
        password = cells[roles["password"]]
        email = username = None
        if "email" in roles and cells[roles["email"]].strip():
            email = normalise_email(cells[roles["email"]])
            if email is None:
                yield Reject(number, "not a valid e-mail address")
                continue
        if "username" in roles and cells[roles["username"]].strip():
            email_, username, reason = identity(cells[roles["username"]])
            if reason:
                yield Reject(number, reason)
                continue
            email = email or email_
        if email is None and username is None:
            yield Reject(number, "no e-mail or username in the row")
            continue
        if username is None and email:
            username = email.split("@", 1)[0]
        if password == "":
            yield Credential(number, email, username, None)
            continue
        if len(password) > MAX_PASSWORD:
            yield Reject(number, f"password longer than {MAX_PASSWORD} characters")
            continue
        yield Credential(number, email, username, password)


def text_lines(raw_lines: Iterable[bytes], start: int = 0) -> Iterator[tuple[int, str]]:
    """(line number, text) with the line ending, a leading BOM and per-line encoding handled."""
    for number, raw in enumerate(raw_lines, start + 1):
        if number == start + 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        yield number, decode(raw.rstrip(b"\r\n"))


def records(raw_lines: Iterable[bytes], start: int = 0) -> Iterator[Credential | Reject]:
    """Credentials and rejects of one text member, numbered from `start` + 1."""
    lines = text_lines(raw_lines, start)
    for number, text in lines:
        if not text.strip():
            continue
        header = _header_columns(text)
        if header:
            yield from _csv_rows(lines, *header)
            return
        item = parse_line(number, text)
        if item is not None:
            yield item
        break
    for number, text in lines:
        item = parse_line(number, text)
        if item is not None:
            yield item
