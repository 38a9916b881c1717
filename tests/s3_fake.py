"""A small S3-compatible server on 127.0.0.1 for the backup tests: path-style PUT, GET (with
a byte Range), HEAD, DELETE, ListObjectsV2 and multipart uploads (CreateMultipartUpload,
UploadPart, CompleteMultipartUpload, AbortMultipartUpload) over an in-memory dict; every
request must carry a SigV4 Authorization header naming the expected access key (the
signature itself is not checked). A completed multipart object gets S3's "<md5 of the part
md5s>-<parts>" ETag, and parts other than the last must be at least 5 MiB, as on S3."""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape


class FakeS3:
    def __init__(self, access_key: str):
        self.access_key = access_key
        self.objects: dict[tuple[str, str], bytes] = {}
        self.etags: dict[tuple[str, str], str] = {}
        self.requests: list[tuple[str, str]] = []
        # upload id -> (bucket, key, {part number: bytes})
        self.uploads: dict[str, tuple[str, str, dict[int, bytes]]] = {}
        self.lock = threading.Lock()
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
                return bucket, unquote(key), parse_qs(parts.query, keep_blank_values=True)

            def _reply(self, status: int, body: bytes = b"", ctype: str = "application/xml",
                       etag: str | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                if etag:
                    self.send_header("ETag", f'"{etag}"')
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

            def _etag_reply(self, etag: str) -> None:
                self.send_response(200)
                self.send_header("ETag", f'"{etag}"')
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_PUT(self):
                bucket, key, query = self._target()
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if not self._authorized():
                    return
                body = _decode_chunked(raw) if self.headers.get("x-amz-content-sha256", "").startswith(
                    "STREAMING-") else raw
                if "uploadId" in query:  # UploadPart
                    upload_id, number = query["uploadId"][0], int(query["partNumber"][0])
                    with fake.lock:
                        if upload_id not in fake.uploads:
                            return self._reply(404, b"<Error><Code>NoSuchUpload</Code></Error>")
                        fake.uploads[upload_id][2][number] = body
                        fake.requests.append(("UPLOAD_PART", key))
                    return self._etag_reply(hashlib.md5(body).hexdigest())
                with fake.lock:
                    fake.requests.append(("PUT", key))
                    fake.objects[(bucket, key)] = body
                    fake.etags[(bucket, key)] = hashlib.md5(body).hexdigest()
                self._etag_reply(fake.etags[(bucket, key)])

            def do_POST(self):
                bucket, key, query = self._target()
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if not self._authorized():
                    return
                if "uploads" in query:  # CreateMultipartUpload
                    upload_id = secrets.token_hex(8)
                    with fake.lock:
                        fake.uploads[upload_id] = (bucket, key, {})
                        fake.requests.append(("CREATE_MULTIPART", key))
                    return self._reply(200, (
                        f'<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult><Bucket>{bucket}'
                        f"</Bucket><Key>{escape(key)}</Key><UploadId>{upload_id}</UploadId>"
                        "</InitiateMultipartUploadResult>").encode())
                if "uploadId" in query:  # CompleteMultipartUpload
                    upload_id = query["uploadId"][0]
                    with fake.lock:
                        if upload_id not in fake.uploads:
                            return self._reply(404, b"<Error><Code>NoSuchUpload</Code></Error>")
                        _bucket, _key, parts = fake.uploads[upload_id]
                        listed = [int(n) for n in re.findall(rb"<PartNumber>(\d+)</PartNumber>", body)]
                        if not listed or listed != sorted(listed) or any(n not in parts for n in listed):
                            return self._reply(400, b"<Error><Code>InvalidPart</Code></Error>")
                        if any(len(parts[n]) < 5 * 1024 * 1024 for n in listed[:-1]):
                            return self._reply(400, b"<Error><Code>EntityTooSmall</Code></Error>")
                        del fake.uploads[upload_id]
                        data = b"".join(parts[n] for n in listed)
                        digest = hashlib.md5(b"".join(hashlib.md5(parts[n]).digest() for n in listed)).hexdigest()
                        fake.objects[(bucket, key)] = data
                        fake.etags[(bucket, key)] = f"{digest}-{len(listed)}"
                        fake.requests.append(("COMPLETE_MULTIPART", key))
                    ET.fromstring(body)  # the request body must be well-formed XML
                    return self._reply(200, (
                        f'<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUploadResult><Bucket>{bucket}'
                        f'</Bucket><Key>{escape(key)}</Key><ETag>"{fake.etags[(bucket, key)]}"</ETag>'
                        "</CompleteMultipartUploadResult>").encode())
                self._reply(400, b"<Error><Code>InvalidRequest</Code></Error>")

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
                data = fake.objects[(bucket, key)]
                wanted = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
                if wanted:
                    start = int(wanted.group(1))
                    end = min(int(wanted.group(2)) if wanted.group(2) else len(data) - 1, len(data) - 1)
                    fake.requests.append(("GET_RANGE", key))
                    self.send_response(206)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
                    self.send_header("Content-Length", str(end - start + 1))
                    self.send_header("ETag", f'"{fake.etags.get((bucket, key), "fake")}"')
                    self.end_headers()
                    self.wfile.write(data[start:end + 1])
                    return
                self._reply(200, data, "application/octet-stream")

            def do_HEAD(self):
                bucket, key, _ = self._target()
                if not self._authorized():
                    return
                if (bucket, key) not in fake.objects:
                    return self._reply(404)
                self._reply(200, fake.objects[(bucket, key)], "application/octet-stream",
                            etag=fake.etags.get((bucket, key)))

            def do_DELETE(self):
                bucket, key, query = self._target()
                if not self._authorized():
                    return
                if "uploadId" in query:  # AbortMultipartUpload
                    with fake.lock:
                        fake.uploads.pop(query["uploadId"][0], None)
                        fake.requests.append(("ABORT_MULTIPART", key))
                    return self._reply(204)
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
