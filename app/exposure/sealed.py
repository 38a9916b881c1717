"""Raw uploads sealed at rest: a breach file is full of passwords, so the copy kept until it
expires is encrypted (AES-256-GCM, in 1 MiB chunks) and nothing readable is left on disk.

Layout: b"VGX1" + an 8-byte random nonce prefix, then one record per chunk: a flag byte (1 on
the last chunk) and the chunk's ciphertext with its 16-byte tag. Chunk i uses nonce
prefix + i (4 bytes) and authenticates its index and flag, so chunks cannot be reordered,
dropped or the file truncated unnoticed. The reader is seekable (zip archives need that),
decrypting one chunk at a time.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"VGX1"
HEADER = len(MAGIC) + 8
CHUNK = 1 << 20
TAG = 16
RECORD = 1 + CHUNK + TAG


class SealedFileError(ValueError):
    """The sealed file is damaged, truncated or was sealed under another key."""


def _nonce(prefix: bytes, index: int) -> bytes:
    return prefix + index.to_bytes(4, "big")


def _aad(index: int, last: bool) -> bytes:
    return index.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


class SealedWriter:
    """Write plaintext in, sealed chunks out; `close()` seals the final chunk."""

    def __init__(self, path: Path, key: bytes):
        self._fh = open(path, "wb")  # noqa: SIM115 - closed in close()
        self._aes = AESGCM(key)
        self._prefix = os.urandom(8)
        self._fh.write(MAGIC + self._prefix)
        self._buffer = bytearray()
        self._index = 0

    def write(self, data: bytes) -> int:
        self._buffer += data
        while len(self._buffer) > CHUNK:
            self._emit(bytes(self._buffer[:CHUNK]), last=False)
            del self._buffer[:CHUNK]
        return len(data)

    def _emit(self, plain: bytes, last: bool) -> None:
        sealed = self._aes.encrypt(_nonce(self._prefix, self._index), plain, _aad(self._index, last))
        self._fh.write((b"\x01" if last else b"\x00") + sealed)
        self._index += 1

    def close(self) -> None:
        if self._fh.closed:
            return
        self._emit(bytes(self._buffer), last=True)
        self._buffer.clear()
        self._fh.close()

    def __enter__(self) -> SealedWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def seal_stream(chunks: Iterable[bytes], path: Path, key: bytes) -> None:
    with SealedWriter(path, key) as writer:
        for chunk in chunks:
            writer.write(chunk)


class SealedReader(io.RawIOBase):
    """A seekable, read-only view of the plaintext of a sealed file."""

    def __init__(self, path: Path, key: bytes):
        self._fh = open(path, "rb")  # noqa: SIM115 - closed in close()
        head = self._fh.read(HEADER)
        if len(head) != HEADER or not head.startswith(MAGIC):
            self._fh.close()
            raise SealedFileError("not a sealed upload")
        self._prefix = head[len(MAGIC):]
        self._aes = AESGCM(key)
        body = os.fstat(self._fh.fileno()).st_size - HEADER
        self._chunks = max(1, -(-body // RECORD))
        last_len = body - (self._chunks - 1) * RECORD - 1 - TAG
        if last_len < 0:
            self._fh.close()
            raise SealedFileError("the sealed upload is truncated")
        self.size = (self._chunks - 1) * CHUNK + last_len
        self._pos = 0
        self._cached: tuple[int, bytes] | None = None

    def _chunk(self, index: int) -> bytes:
        if self._cached and self._cached[0] == index:
            return self._cached[1]
        self._fh.seek(HEADER + index * RECORD)
        record = self._fh.read(RECORD)
        last = index == self._chunks - 1
        if not record or record[0] != (1 if last else 0):
            raise SealedFileError("the sealed upload is truncated or reordered")
        try:
            plain = self._aes.decrypt(_nonce(self._prefix, index), record[1:], _aad(index, last))
        except InvalidTag as exc:
            raise SealedFileError("the sealed upload is damaged or sealed under another key") from exc
        self._cached = (index, plain)
        return plain

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        done = 0
        view = memoryview(buffer)
        while done < len(view) and self._pos < self.size:
            index, offset = divmod(self._pos, CHUNK)
            data = self._chunk(index)[offset:offset + len(view) - done]
            view[done:done + len(data)] = data
            done += len(data)
            self._pos += len(data)
        return done

    def close(self) -> None:
        self._fh.close()
        super().close()
