"""Local stand-ins for the outside world, started by tests on 127.0.0.1 only."""

from __future__ import annotations

import socket

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

SMTP_LOGIN = "mailer"
SMTP_PASSWORD = "smtp-pass-Xy7-never-shown"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpSink:
    """An SMTP server's handler that keeps what it receives."""

    def __init__(self) -> None:
        self.envelopes: list = []
        self.logins: list[tuple[str, str]] = []
        self.port = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's naming
        self.envelopes.append(envelope)
        return "250 Message accepted"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        login, password = auth_data.login.decode(), auth_data.password.decode()
        self.logins.append((login, password))
        # handled=False: aiosmtpd itself answers 535 on a refusal.
        return AuthResult(success=(login, password) == (SMTP_LOGIN, SMTP_PASSWORD), handled=False)


class BoundController(Controller):
    """aiosmtpd's Controller on a socket bound (to port 0) before it starts: a port found free
    and bound later could be taken by another process in between (aiosmtpd==1.4.6 is pinned;
    `_create_server` and `_factory_invoker` are its own)."""

    def __init__(self, handler, **kwargs) -> None:
        self.listening = socket.socket()
        self.listening.bind(("127.0.0.1", 0))
        super().__init__(handler, hostname="127.0.0.1", port=self.listening.getsockname()[1], **kwargs)

    def _create_server(self):
        return self.loop.create_server(self._factory_invoker, sock=self.listening, ssl=self.ssl_context)


def start_smtp() -> tuple[SmtpSink, Controller]:
    sink = SmtpSink()
    controller = BoundController(sink, server_hostname="smtp.vigil.local",
                                 authenticator=sink.authenticate, auth_require_tls=False)
    controller.start()
    sink.port = controller.port
    return sink, controller


def solid_png(rgb: tuple[int, int, int], size: int = 256) -> bytes:
    """A one-colour PNG (what a fake tile server answers; no imaging library needed)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" + bytes(rgb) * size
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(row * size)) + chunk(b"IEND", b""))


class FakeTileServer:
    """A map tile server on 127.0.0.1: /{z}/{x}/{y}.png answers a solid PNG, anything under
    /down/ answers 503 (a tile server that is unreachable or refusing), and any *.pmtiles a
    one-tile PMTiles archive with range requests (a self-hosted basemap). Keeps every request
    path with its Referer."""

    TILE = (170, 211, 223)

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        fake = self
        self.requests: list[tuple[str, str | None]] = []
        self.ranges: list[str | None] = []
        # basemap.pmtiles holds zooms 0-1; a name ending in -z0.pmtiles only the world tile.
        self.pmtiles_archives = {0: land_pmtiles(max_zoom=0), 1: land_pmtiles(max_zoom=1)}
        png = solid_png(self.TILE)

        class Handler(BaseHTTPRequestHandler):
            def cors(self):
                # The console's pages fetch a PMTiles file from here (another origin).
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Access-Control-Allow-Headers", "Range")
                self.send_header("Access-Control-Expose-Headers", "Content-Range, Content-Length, ETag")

            def do_OPTIONS(self):  # noqa: N802
                self.send_response(204)
                self.cors()
                self.end_headers()

            def pmtiles(self):
                max_zoom = 0 if self.path.endswith("-z0.pmtiles") else 1
                body = fake.pmtiles_archives[max_zoom]
                first, last = 0, len(body) - 1
                ranged = self.headers.get("Range", "")
                if ranged.startswith("bytes="):
                    start, _, end = ranged[6:].partition("-")
                    first, last = int(start), min(int(end or last), len(body) - 1)
                part = body[first:last + 1]
                self.send_response(206 if ranged else 200)
                self.cors()
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(part)))
                self.send_header("ETag", f'"land-{max_zoom}"')
                if ranged:
                    self.send_header("Content-Range", f"bytes {first}-{last}/{len(body)}")
                self.end_headers()
                self.wfile.write(part)

            def do_GET(self):  # noqa: N802 - http.server's naming
                fake.requests.append((self.path, self.headers.get("Referer")))
                if self.path.endswith(".pmtiles"):
                    fake.ranges.append(self.headers.get("Range"))
                    return self.pmtiles()
                ok = not self.path.startswith("/down/") and self.path.endswith(".png")
                body = png if ok else b"unavailable"
                self.send_response(200 if ok else 503)
                self.send_header("Content-Type", "image/png" if ok else "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # quiet: the test reads self.requests
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="fake-tiles", daemon=True)
        self.thread.start()

    def tile_paths(self) -> list[str]:
        return [path for path, _ in self.requests if not path.startswith("/down/")]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, payload: bytes | int) -> bytes:
    if isinstance(payload, int):
        return _varint(number << 3) + _varint(payload)
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def land_tile(feature_id: int = 1) -> bytes:
    """A Mapbox Vector Tile (protobuf, by hand) whose "earth" layer is one square covering the
    tile: what a basemap draws as land."""
    zigzag = lambda n: (n << 1) ^ (n >> 31)  # noqa: E731
    geometry = [9, zigzag(0), zigzag(0), 26, zigzag(4096), zigzag(0), zigzag(0), zigzag(4096),
                zigzag(-4096), zigzag(0), 15]  # MoveTo, LineTo x3, ClosePath (clockwise)
    feature = _field(1, feature_id) + _field(3, 3) + _field(4, b"".join(_varint(v) for v in geometry))
    layer = _field(15, 2) + _field(1, b"earth") + _field(2, feature) + _field(5, 4096)
    return _field(3, layer)


def land_pmtiles(max_zoom: int = 1) -> bytes:
    """A tiny PMTiles v3 archive (zooms 0 to `max_zoom` <= 1, the whole world as land),
    written with the pmtiles package: the self-hosted basemap a browser test can draw."""
    import io

    from pmtiles.tile import Compression, TileType, zxy_to_tileid
    from pmtiles.writer import Writer

    buffer = io.BytesIO()
    writer = Writer(buffer)
    # Each tile's bytes differ (the feature id): the writer takes the max zoom from its last
    # entry, and identical tiles would collapse into one run entry at zoom 0. A zoom-0-only
    # archive is what protomaps-leaflet misreads ("maxDataZoom || 15"); basemap.js corrects it.
    tiles = ((0, 0, 0), (1, 0, 0), (1, 0, 1), (1, 1, 1), (1, 1, 0))
    for n, (z, x, y) in enumerate((t for t in tiles if t[0] <= max_zoom), 1):
        writer.write_tile(zxy_to_tileid(z, x, y), land_tile(n))
    writer.finalize({"tile_type": TileType.MVT, "tile_compression": Compression.NONE, "min_zoom": 0, "max_zoom": max_zoom,
                     "min_lon_e7": -1800000000, "min_lat_e7": -850000000, "max_lon_e7": 1800000000,
                     "max_lat_e7": 850000000, "center_zoom": 0, "center_lon_e7": 0, "center_lat_e7": 0},
                    {"vector_layers": [{"id": "earth", "fields": {}}]})
    return buffer.getvalue()
