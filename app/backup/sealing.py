"""Encrypting an archive with the configured key, in chunks (an archive can be gigabytes).

Envelope encryption: a fresh AES-256-GCM data key per archive, sealed with the configured
ENCRYPTION_KEY through app/crypto.py and stored in the header. Each 1 MiB chunk carries its
index and a last-chunk flag as associated data, so chunks cannot be reordered, dropped or
the file truncated without the open failing.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app import crypto

MAGIC = b"VIGILBK1\n"
CHUNK = 1 << 20


class SealError(ValueError):
    """The archive cannot be opened: wrong key, or it was changed."""


def is_sealed(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(len(MAGIC)) == MAGIC


def _aad(index: int, last: bool) -> bytes:
    return struct.pack(">Q?", index, last)


def seal(src: Path, dst: Path) -> None:
    key = AESGCM.generate_key(bit_length=256)
    aes = AESGCM(key)
    header = json.dumps({"key": crypto.encrypt_text(key.hex())}).encode() + b"\n"
    size = src.stat().st_size
    with src.open("rb") as fin, dst.open("wb") as fout:
        fout.write(MAGIC + header)
        index, done = 0, 0
        while True:
            chunk = fin.read(CHUNK)
            done += len(chunk)
            last = done >= size
            nonce = os.urandom(12)
            sealed = aes.encrypt(nonce, chunk, _aad(index, last))
            fout.write(struct.pack(">I", len(sealed)) + nonce + sealed)
            index += 1
            if last:
                break


def open_sealed(src: Path, dst: Path) -> None:
    with src.open("rb") as fin, dst.open("wb") as fout:
        if fin.read(len(MAGIC)) != MAGIC:
            raise SealError("not an encrypted Vigil archive")
        try:
            key = bytes.fromhex(crypto.decrypt_text(json.loads(fin.readline())["key"]))
        except (crypto.DecryptionError, ValueError, KeyError) as exc:
            raise SealError("the archive's key cannot be opened with the configured VIGIL_ENCRYPTION_KEY") from exc
        aes = AESGCM(key)
        index = 0
        while True:
            head = fin.read(4)
            if len(head) < 4:
                raise SealError("the archive is truncated")
            (length,) = struct.unpack(">I", head)
            nonce, sealed = fin.read(12), fin.read(length)
            last = fin.peek(1) == b"" if hasattr(fin, "peek") else False
            try:
                fout.write(aes.decrypt(nonce, sealed, _aad(index, last)))
            except InvalidTag as exc:
                raise SealError("the archive was changed after it was written (a chunk fails its check)") from exc
            index += 1
            if last:
                return
