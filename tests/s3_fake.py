"""A small S3-compatible server on 127.0.0.1 for the backup tests: path-style PUT, GET, HEAD,
DELETE and ListObjectsV2 over an in-memory dict; every request must carry a SigV4
Authorization header naming the expected access key (the signature itself is not checked)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape


class FakeS3:
    def __init__(self, access_key: str):
        self.access_key = access_key
        self.objects: dict[tuple[str, str], bytes] = {}
        self.requests: list[tuple[str, str]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FakeS3:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def keys(self, bucket: str) -> list[str]:
        return sorted(k for b, k in self.objects if b == bucket)

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet test output
                pass

            def _target(self) -> tuple[str, str, dict]:
                parts = urlsplit(self.path)
                bucket, _, key = parts.path.lstrip("/").partition("/")
                return bucket, unquote(key), parse_qs(parts.query)

            def _reply(self, status: int, body: bytes = b"", ctype: str = "application/xml") -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _authorized(self) -> bool:
                auth = self.headers.get("Authorization", "")
                ok = auth.startswith("AWS4-HMAC-SHA256 ") and f"Credential={fake.access_key}/" in auth \
                    and "x-amz-date" in {h.lower() for h in self.headers}
                if not ok:
                    self._reply(403, b"<Error><Code>AccessDenied</Code></Error>")
                return ok

            def do_PUT(self):
                bucket, key, _ = self._target()
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if not self._authorized():
                    return
                if self.headers.get("x-amz-content-sha256", "").startswith("STREAMING-"):
                    body = _decode_chunked(body)
                fake.requests.append(("PUT", key))
                fake.objects[(bucket, key)] = body
                self.send_response(200)
                self.send_header("ETag", '"fake"')
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self):
                bucket, key, query = self._target()
                if not self._authorized():
                    return
                if not key:
                    prefix = query.get("prefix", [""])[0]
                    fake.requests.append(("LIST", prefix))
                    items = "".join(f"<Contents><Key>{escape(k)}</Key><Size>{len(v)}</Size></Contents>"
                                    for (b, k), v in sorted(fake.objects.items())
                                    if b == bucket and k.startswith(prefix))
                    count = sum(1 for b, k in fake.objects if b == bucket and k.startswith(prefix))
                    body = (f'<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>{bucket}</Name>'
                            f"<Prefix>{escape(prefix)}</Prefix><KeyCount>{count}</KeyCount>"
                            f"<IsTruncated>false</IsTruncated>{items}</ListBucketResult>")
                    return self._reply(200, body.encode())
                fake.requests.append(("GET", key))
                if (bucket, key) not in fake.objects:
                    return self._reply(404, b"<Error><Code>NoSuchKey</Code></Error>")
                self._reply(200, fake.objects[(bucket, key)], "application/octet-stream")

            def do_HEAD(self):
                bucket, key, _ = self._target()
                if not self._authorized():
                    return
                if (bucket, key) not in fake.objects:
                    return self._reply(404)
                self._reply(200, fake.objects[(bucket, key)], "application/octet-stream")

            def do_DELETE(self):
                bucket, key, _ = self._target()
                if not self._authorized():
                    return
                fake.requests.append(("DELETE", key))
                fake.objects.pop((bucket, key), None)
                self._reply(204)

        return Handler


def _decode_chunked(body: bytes) -> bytes:
    """aws-chunked payload (`size;chunk-signature=...\\r\\ndata\\r\\n` ... `0;...`) back to the bytes."""
    out, rest = b"", body
    while rest:
        header, _, rest = rest.partition(b"\r\n")
        size = int(header.split(b";")[0], 16)
        if size == 0:
            break
        out, rest = out + rest[:size], rest[size + 2:]
    return out
