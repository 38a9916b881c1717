"""Breach and combolist files: every line format, CSV headers, encodings, zip/gzip and their
limits, sealed storage, identical files and duplicate credentials, the reject report, the
CLI summary line, the raw-file expiry job and ClamAV over INSTREAM (fake clamd on loopback)."""

from __future__ import annotations

import gzip
import io
import socket
import struct
import threading
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from app import crypto
from app.exposure import archive, importer, keys, parse, sealed, services, uploads
from app.models import Setting, db, utcnow
from app.models.exposure import BreachFileResult, UploadedBreachFile
from tests.exposure_fakes import database_text

SAMPLE = Path(__file__).resolve().parents[3] / "shared" / "samples" / "combolists" / "nixer_example-leak.txt"
if not SAMPLE.exists():
    SAMPLE = Path("/work/shared/samples/combolists/nixer_example-leak.txt")


@pytest.fixture()
def instance(app, tmp_path, monkeypatch):
    """Sealed uploads and reject reports go to a temporary instance folder."""
    monkeypatch.setattr(app, "instance_path", str(tmp_path / "instance"))
    return tmp_path


def do_import(org_id: int, data: bytes, name: str = "leak.txt") -> UploadedBreachFile:
    row = uploads.receive(org_id, None, name, [data])
    db.session.commit()
    return importer.run_import(row.id)


def stored(org_id: int) -> list[BreachFileResult]:
    return list(db.session.scalars(sa.select(BreachFileResult).where(BreachFileResult.org_id == org_id)
                                   .order_by(BreachFileResult.line_number)))


# ------------------------------------------------------------------ line formats

@pytest.mark.parametrize("line, email, username, password", [
    ("alice@example.com:hunter2", "alice@example.com", "alice", "hunter2"),
    ("Alice@Example.COM;hunter2", "alice@example.com", "alice", "hunter2"),
    ("alice@example.com|pa:ss|word", "alice@example.com", "alice", "pa:ss|word"),
    ("alice@example.com\thunter2", "alice@example.com", "alice", "hunter2"),
    ("alice@example.com : hunter 2", "alice@example.com", "alice", "hunter 2"),
    ("john:foobar1", None, "john", "foobar1"),
    ("admin:P4$$w0RD55", None, "admin", "P4$$w0RD55"),
    ("bob@example.org", "bob@example.org", "bob", None),
])
def test_line_formats(line, email, username, password):
    item = parse.parse_line(7, line)
    assert isinstance(item, parse.Credential) and item.line == 7
    assert (item.email, item.username, item.password) == (email, username, password)


@pytest.mark.parametrize("line, reason", [
    ("not an email and no separator", "no separator"),
    ("bad@@example:pw", "not a valid e-mail"),
    (":password", "no e-mail or username"),
    ("user name with spaces:pw", "not a valid username"),
    ("alice@example.com:", "empty password"),
    ("alice@example.com:" + "x" * 300, "password longer than 256"),
])
def test_rejected_lines_say_why_without_their_text(line, reason):
    item = parse.parse_line(3, line)
    assert isinstance(item, parse.Reject) and item.line == 3 and reason in item.reason
    assert line not in item.reason


def test_csv_with_header_in_any_order_and_bom():
    data = "\ufeffPassword,Username,Email\r\ns3cret!,carol,carol@example.com\r\n,dave,dave@example.com\r\nx,,\r\n"
    items = list(parse.records(io.BytesIO(data.encode())))
    assert isinstance(items[0], parse.Credential)
    assert (items[0].line, items[0].email, items[0].username, items[0].password) == (2, "carol@example.com", "carol", "s3cret!")
    assert items[1].email == "dave@example.com" and items[1].password is None
    assert isinstance(items[2], parse.Reject) and items[2].line == 4


def test_latin1_and_utf8_lines_in_one_file():
    data = "josé@example.com:café\n".encode() + "zoe@example.com:pässwörd\n".encode("latin-1")
    items = list(parse.records(io.BytesIO(data)))
    assert [i.password for i in items] == ["café", "pässwörd"]


# ------------------------------------------------------------------ storage and derived fields

def test_sample_combolist_imports_without_plaintext(app, orgs, instance):
    org = orgs.a.org.id
    row = do_import(org, SAMPLE.read_bytes(), SAMPLE.name)
    lines = SAMPLE.read_text().splitlines()
    assert row.processing_status == "completed", row.processing_error
    assert row.line_count == len(lines) == 104
    assert row.records_count + row.duplicate_count + row.rejected_count == 104
    results = {r.username: r for r in stored(org)}
    smith = next(r for r in stored(org) if r.email == "smith@example.com")
    assert smith.email_domain == "example.com" and smith.username == "smith"
    assert smith.password_length == len("IamTheBest") and smith.password_classes == "lu"
    assert smith.password_hint == "I…t" and smith.password_sha1_prefix == keys.sha1_prefix("IamTheBest")
    with app.test_request_context():
        expected = keys.password_hmac("IamTheBest", keys.derive(keys.HMAC_PURPOSE))
    assert smith.password_hmac == expected and len(smith.password_sha1_prefix) == 5
    assert results["clueless"].password_strength <= 1 and results["example1"].password_strength >= 3
    columns = [c.name for c in BreachFileResult.__table__.columns]
    assert not [c for c in columns if "plain" in c or c == "password"]


def test_password_hmac_survives_encryption_key_rotation(app, orgs, instance, monkeypatch):
    """Rotating VIGIL_ENCRYPTION_KEY (a new first key, the old one kept to decrypt) must not
    change the password HMAC key: the same password imported before and after is still one."""
    org = orgs.a.org
    org.primary_domain = "acme.test"
    db.session.commit()
    secret = "Rotated-Reuse-Pw-4417"
    do_import(org.id, f"alice@acme.test:{secret}\n".encode(), "before.txt")
    pinned = db.session.get(Setting, keys.HMAC_SETTING)
    assert pinned is not None and "sealed" in pinned.value
    with app.app_context():
        before = keys.derive(keys.HMAC_PURPOSE)
    old = app.config["ENCRYPTION_KEY"]
    monkeypatch.setitem(app.config, "ENCRYPTION_KEY", f"{crypto.generate_key()},{old}")  # the rotation
    with app.app_context():
        assert keys.derive(keys.HMAC_PURPOSE) != before  # what the HMAC followed until now
        assert keys.password_hmac_key() == before
    do_import(org.id, f"bob@acme.test:{secret}\n".encode(), "after.txt")
    rows = stored(org.id)
    assert len(rows) == 2 and rows[0].password_hmac == rows[1].password_hmac
    reused = services.reused_passwords(org.id)
    assert [r.accounts for r in reused] == [["alice@acme.test", "bob@acme.test"]]
    # The old key can be dropped once secrets are re-sealed: the pinned key is still readable.
    pinned.value = {"sealed": crypto.encrypt_text(before.hex())}
    db.session.commit()
    monkeypatch.setitem(app.config, "ENCRYPTION_KEY", app.config["ENCRYPTION_KEY"].split(",")[0])
    with app.app_context():
        assert keys.password_hmac_key() == before
    text = database_text()
    assert secret not in text and before.hex() not in text


def test_identical_file_is_recognised_and_duplicates_counted(app, orgs, instance):
    org = orgs.a.org.id
    first = do_import(org, b"a@example.com:one\nb@example.com:two\n")
    assert (first.records_count, first.duplicate_count) == (2, 0)
    with pytest.raises(uploads.AlreadyImported):
        uploads.receive(org, None, "copy.txt", [b"a@example.com:one\nb@example.com:two\n"])
    db.session.rollback()
    second = do_import(org, b"a@example.com:one\nb@example.com:changed\na@example.com:one\n", "other.txt")
    assert (second.records_count, second.duplicate_count) == (1, 2)
    assert len(stored(org)) == 3
    # Another organization holds its own corpus: nothing is a duplicate there.
    other = do_import(orgs.b.org.id, b"a@example.com:one\n")
    assert other.records_count == 1


def test_reject_report_lists_every_line_and_page_keeps_first_100(app, orgs, instance):
    data = b"".join(b"bad line %d\n" % i for i in range(150)) + b"ok@example.com:pw\n"
    row = do_import(orgs.a.org.id, data)
    assert row.rejected_count == 150 and row.records_count == 1 and len(row.errors) == 100
    report = uploads.report_path(row).read_text().splitlines()
    assert report[0] == "line,reason" and len(report) == 151 and report[1].startswith("1,")
    assert "bad line" not in "\n".join(report)


def zipped(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_zip_and_gzip_sniffed_not_named(app, orgs, instance):
    org = orgs.a.org.id
    z = do_import(org, zipped({"a.txt": b"z1@example.com:pw1\n", "b.csv": b"email;password\nz2@example.com;pw2\n"}),
                  "leak.txt")
    assert z.processing_status == "completed" and z.records_count == 2 and z.mime_type == "application/zip"
    g = do_import(org, gzip.compress(b"g1@example.com:pw\n"), "leak.zip")
    assert g.records_count == 1 and g.mime_type == "application/gzip"


@pytest.mark.parametrize("payload, message", [
    (lambda: gzip.compress(b"a" * (5 * 1024 * 1024)), "zip bomb"),
    (lambda: zipped({"bomb.txt": b"a" * (5 * 1024 * 1024)}), "zip bomb"),
    (lambda: zipped({"inner.zip": zipped({"x.txt": b"a@b.co:x"})}), "nested"),
    (lambda: zipped({f"f{i}.txt": b"a@b.co:x\n" for i in range(60)}), "at most 50"),
])
def test_archive_limits(app, orgs, instance, payload, message):
    row = do_import(orgs.a.org.id, payload())
    assert row.processing_status == "failed" and message in row.processing_error
    assert row.records_count == 0


def test_binary_empty_and_oversized_files_refused_before_storing(app, orgs, instance, monkeypatch):
    for data in (b"\x00\x01\x02binary", b""):
        with pytest.raises(uploads.UploadRefused):
            uploads.receive(orgs.a.org.id, None, "x.txt", [data])
    monkeypatch.setitem(app.config, "EXPOSURE_MAX_UPLOAD_MB", 0.001)
    with pytest.raises(uploads.UploadRefused, match="upload limit of 0.001 MB"):
        uploads.receive(orgs.a.org.id, None, "x.txt", [b"a@b.co:pw\n"] * 200)  # streamed past the limit
    assert not list((instance / "instance").rglob("*.sealed"))


def test_sealed_file_round_trip_is_not_plaintext(app, tmp_path):
    key = b"k" * 32
    data = b"secret@example.com:Tr0ub4dor&3\n" * 70000  # over two chunks
    path = tmp_path / "x.sealed"
    sealed.seal_stream([data[:1000], data[1000:]], path, key)
    assert b"Tr0ub4dor" not in path.read_bytes()
    with sealed.SealedReader(path, key) as reader:
        assert reader.size == len(data) and reader.read() == data
        reader.seek(sealed.CHUNK - 3)
        assert reader.read(6) == data[sealed.CHUNK - 3:sealed.CHUNK + 3]
    with pytest.raises(sealed.SealedFileError), sealed.SealedReader(path, b"j" * 32) as reader:
        reader.read()


def test_archive_members_refuse_binary():
    with pytest.raises(archive.ArchiveError):
        archive.kind_of(b"\x7fELF\x00\x00")


# ------------------------------------------------------------------ CLI, expiry, ClamAV

def test_cli_prints_one_summary_line_and_reimport_adds_nothing(app, orgs, instance):
    runner = app.test_cli_runner()
    out = runner.invoke(args=["exposure", "import-breach", str(SAMPLE), "--org", orgs.a.org.slug])
    assert out.exit_code == 0, out.output
    last = out.stdout.strip().splitlines()[-1]
    assert last.startswith("read=104 imported=") and last.endswith("matched=0")
    again = runner.invoke(args=["exposure", "import-breach", str(SAMPLE), "--org", orgs.a.org.slug])
    assert again.exit_code == 0 and " imported=0 " in again.stdout.strip().splitlines()[-1]
    assert runner.invoke(args=["exposure", "import-breach", str(SAMPLE), "--org", "nope"]).exit_code != 0


def test_expiry_job_deletes_raw_file_keeps_credentials(app, orgs, instance):
    row = do_import(orgs.a.org.id, b"e@example.com:pw\n")
    path = Path(row.file_path)
    assert path.exists() and not uploads.has_expired_uploads()
    row.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert uploads.has_expired_uploads()
    assert uploads.delete_expired() == 1
    db.session.commit()
    assert not path.exists() and row.file_path is None and row.raw_deleted_at is not None
    assert len(stored(orgs.a.org.id)) == 1
    assert importer.run_import(row.id).processing_status == "failed"
    # An import left "processing" by a killed worker keeps its raw file only 6 h past expiry.
    stuck = do_import(orgs.a.org.id, b"s@example.com:pw\n")
    stuck.processing_status, stuck.expires_at = "processing", utcnow() - timedelta(hours=1)
    db.session.commit()
    assert uploads.delete_expired() == 0
    stuck.expires_at = utcnow() - timedelta(hours=7)
    db.session.commit()
    assert uploads.delete_expired() == 1 and stuck.file_path is None


def test_cancelled_import_is_marked_failed(app, orgs, instance):
    row = uploads.receive(orgs.a.org.id, None, "c.txt", [b"c@example.com:pw\n"])
    db.session.commit()

    def cancel(_pct, _msg):
        raise RuntimeError("cancelled")

    with pytest.raises(RuntimeError):
        importer.run_import(row.id, progress=cancel)
    db.session.expire_all()
    row = db.session.get(UploadedBreachFile, row.id)
    assert row.processing_status == "failed" and "RuntimeError" in row.processing_error


class FakeClamd:
    """A clamd INSTREAM server on loopback: FOUND when the stream holds the EICAR marker."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.streams: list[bytes] = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                command = b""
                while not command.endswith(b"\0"):
                    command += conn.recv(1)
                assert command == b"zINSTREAM\0"
                data = b""
                while True:
                    size = struct.unpack(">I", self.recv_exact(conn, 4))[0]
                    if size == 0:
                        break
                    data += self.recv_exact(conn, size)
                self.streams.append(data)
                verdict = b"Eicar-Test-Signature FOUND" if b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE" in data else b"OK"
                conn.sendall(b"stream: " + verdict + b"\0")

    @staticmethod
    def recv_exact(conn, size: int) -> bytes:
        out = b""
        while len(out) < size:
            out += conn.recv(size - len(out))
        return out


def test_clamd_instream_scan(app, orgs, instance, monkeypatch):
    org = orgs.a.org.id
    unscanned = do_import(org, b"u@example.com:pw\n")
    assert not unscanned.virus_scanned and unscanned.virus_scan_result == "not scanned"
    fake = FakeClamd()
    monkeypatch.setitem(app.config, "EXPOSURE_CLAMD", fake.address)
    clean = do_import(org, b"c@example.com:pw\n")
    assert clean.virus_scanned and clean.virus_scan_result == "OK" and fake.streams[-1] == b"c@example.com:pw\n"
    infected = do_import(org, b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*\n")
    assert infected.processing_status == "failed" and infected.virus_scanned
    assert "Eicar-Test-Signature FOUND" in infected.virus_scan_result and infected.records_count == 0
    fake.sock.close()
    monkeypatch.setitem(app.config, "EXPOSURE_CLAMD", "127.0.0.1:1")
    down = do_import(org, b"d@example.com:pw\n")
    # A configured scanner that cannot be reached fails the import closed.
    assert not down.virus_scanned and down.virus_scan_result.startswith("error")
    assert down.processing_status == "failed" and down.records_count == 0
