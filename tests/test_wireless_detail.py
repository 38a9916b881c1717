"""The network page: identity, every score factor explained, nearest office, tags with
history and the overlay after rescoring, sanitized markdown notes, media (sniffed types,
size limit, thumbnails, scoped downloads), permissions, tenant isolation and audit."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from PIL import Image

from app.models import AuditLog, Setting, db
from app.models.wireless import (
    AgencyOffice,
    Network,
    NetworkMedia,
    NetworkNote,
    NetworkTag,
    Observation,
)
from app.wireless import demo, detail, reference
from tests.tenancy import assert_other_org_cannot_reach
from tests.wireless_fakes import make_network


@pytest.fixture()
def media_dir(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "WIRELESS_MEDIA_DIR", str(tmp_path / "media"))
    return tmp_path / "media"


def login(client, orgs, role="analyst", side="a"):
    user = getattr(orgs, side).users[role]
    client.login(user.email)
    return user


def add_sightings(network, count=6, start=datetime(2026, 3, 2, 8, tzinfo=UTC), step_m=0.01):
    source = demo.DeviceSource(org_id=network.org_id, code=f"src-{network.id}", name="Phone")
    db.session.add(source)
    db.session.flush()
    for i in range(count):
        t = start + timedelta(hours=i * 5)
        db.session.add(Observation(
            org_id=network.org_id, network_id=network.id, source_id=source.id, bssid=network.bssid, ssid=network.ssid,
            level=-70, lat=network.lastlat + i * step_m, lon=network.lastlon, time=t,
            observed_at_ms=int(t.timestamp() * 1000), time_ms=int(t.timestamp() * 1000), source_pk=str(i)))
    db.session.flush()
    return source


def audit_actions() -> list[str]:
    return list(db.session.scalars(sa.select(AuditLog.action).order_by(AuditLog.id)))


@pytest.fixture()
def scenario_org(orgs):
    """One week of the demo scenario written into org A (Denver office loaded), scored."""
    reference.load_offices_file()
    demo.write_scenario(orgs.a.org.id, weeks=1)
    db.session.commit()
    return orgs


def network_by_ssid(org_id, ssid):
    return db.session.scalar(sa.select(Network).where(Network.org_id == org_id, Network.ssid == ssid))


# ---------------------------------------------------------------- the page


def test_detail_page_explains_every_factor_and_identity(client, scenario_org):
    orgs = scenario_org
    follower = network_by_ssid(orgs.a.org.id, "myChevrolet 7F3C")
    assert follower.threat_level in ("HIGH", "CRITICAL")
    login(client, orgs, "read_only")
    html = client.get(f"/wireless/networks/{follower.id}").get_data(as_text=True)
    shown = set(re.findall(r'data-factor="([a-z_]+)"', html))
    stored = {f["code"] for f in follower.threat_factors["factors"]}
    assert stored and stored <= shown
    assert "ml_blend" in shown and "No active threat model" in html
    for f in follower.threat_factors["factors"]:
        assert f["explanation"].split(":")[0][:30] in html.replace("&#39;", "'").replace("&gt;", ">")
    assert follower.bssid in html and "myChevrolet" in html
    assert 'id="score-history"' in html
    assert 'data-points="[' in html.replace("&#34;", '"') or "data-points=\"[{" in html
    # Nearest office: the Denver field office, with its distance.
    assert re.search(r'id="nearest-office">Denver \(field office, Denver, CO\): [\d.]+ km', html)
    assert "Distance from home" in html
    # The sightings map also gets home (with its radius) and that office, and links to the big map.
    import html as html_mod
    import json

    places = json.loads(html_mod.unescape(re.search(r'data-places="([^"]*)"', html).group(1)))
    assert places["home"]["radius_km"] > 0 and places["office"]["name"] == "Denver"
    link = re.search(r'href="(/wireless/map\?bssid=[^"]+)" data-big-map', html).group(1)
    assert html_mod.unescape(link).replace("%3A", ":") == f"/wireless/map?bssid={follower.bssid}"


def test_randomized_mac_flag_and_manufacturer(client, orgs):
    random_net = make_network(orgs.a.org.id, bssid="DA:A1:19:00:00:01")
    maker_net = make_network(orgs.a.org.id, bssid="00:1B:63:00:00:02")  # Apple's MA-L block
    reference.load_manufacturers()
    db.session.commit()
    login(client, orgs)
    html = client.get(f"/wireless/networks/{random_net.id}").get_data(as_text=True)
    assert "Yes: locally administered" in html and "made up by the device" in html
    html = client.get(f"/wireless/networks/{maker_net.id}").get_data(as_text=True)
    assert "Apple" in html and "IEEE OUI 001B63" in html
    assert "Yes: locally administered" not in html
    assert reference.is_locally_administered("02:00:00:00:00:00")
    assert not reference.is_locally_administered("00:1B:63:00:00:02")
    assert not reference.is_locally_administered("310260_1000_1")


def test_nearest_office_is_said_when_none_loaded(client, orgs):
    network = make_network(orgs.a.org.id)
    db.session.execute(sa.delete(AgencyOffice))
    db.session.commit()
    login(client, orgs)
    assert "No agency offices loaded" in client.get(f"/wireless/networks/{network.id}").get_data(as_text=True)


# ---------------------------------------------------------------- tags


def test_tag_add_remove_keeps_history_rescores_and_overlays(client, scenario_org):
    orgs = scenario_org
    follower = network_by_ssid(orgs.a.org.id, "myChevrolet 7F3C")
    login(client, orgs)
    r = client.post(f"/wireless/networks/{follower.id}/tags", data={"tag": "FALSE_POSITIVE", "confidence": "0.8",
                                                                     "notes": "my brother's car"},
                    headers={"HX-Request": "true"})
    assert r.status_code == 200
    assert "wireless-network-tagged" in r.headers["HX-Trigger"]
    assert 'id="tags-block"' in r.get_data(as_text=True) and "FALSE_POSITIVE" in r.get_data(as_text=True)
    db.session.expire_all()
    follower = db.session.get(Network, follower.id)
    assert float(follower.threat_score_v2) == 0 and follower.threat_level == "NONE"
    score = client.get(f"/wireless/networks/{follower.id}/score", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert score.lstrip().startswith('<section class="card mb-3" id="score-block"')
    assert 'data-factor="tag_overlay"' in score and "dismissed by an analyst" in score
    assert '<span id="score-value">0.0</span>' in score

    tag = db.session.scalar(sa.select(NetworkTag).where(NetworkTag.network_id == follower.id))
    r = client.post(f"/wireless/networks/{follower.id}/tags/{tag.id}/remove", headers={"HX-Request": "true"})
    assert r.status_code == 200
    db.session.expire_all()
    rows = db.session.scalars(sa.select(NetworkTag).where(NetworkTag.network_id == follower.id)).all()
    assert len(rows) == 1 and rows[0].removed_at is not None and rows[0].removed_by_id == orgs.a.users["analyst"].id
    follower = db.session.get(Network, follower.id)
    assert follower.threat_level in ("HIGH", "CRITICAL")
    # Removing twice is refused, not a 500.
    assert client.post(f"/wireless/networks/{follower.id}/tags/{tag.id}/remove").status_code == 409
    html = client.get(f"/wireless/networks/{follower.id}").get_data(as_text=True)
    assert 'id="tag-history"' in html and "active" not in html.split('id="tag-history"')[1].split("</table>")[0]
    assert {"wireless.network_tagged", "wireless.network_untagged"} <= set(audit_actions())


def test_threat_tag_lifts_a_quiet_network_to_high(client, orgs):
    network = make_network(orgs.a.org.id)
    add_sightings(network)
    db.session.commit()
    login(client, orgs, "operator")
    r = client.post(f"/wireless/networks/{network.id}/tags", data={"tag": "THREAT"})
    assert r.status_code == 303
    db.session.expire_all()
    network = db.session.get(Network, network.id)
    assert float(network.threat_score_v2) >= 61 and network.threat_level in ("HIGH", "CRITICAL")
    assert network.needs_rescore is False
    html = client.get(f"/wireless/networks/{network.id}").get_data(as_text=True)
    assert "Tagged THREAT: never below the HIGH threshold" in html


def test_invalid_tag_is_422_and_saves_nothing(client, orgs):
    network = make_network(orgs.a.org.id)
    db.session.commit()
    login(client, orgs)
    r = client.post(f"/wireless/networks/{network.id}/tags", data={"tag": "NOPE"}, headers={"HX-Request": "true"})
    assert r.status_code == 422
    r = client.post(f"/wireless/networks/{network.id}/tags", data={"tag": "THREAT", "confidence": "7"})
    assert r.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count(NetworkTag.id))) == 0


# ---------------------------------------------------------------- notes


def test_markdown_notes_are_sanitized():
    html = detail.render_markdown("**bold** <script>alert(1)</script> <img src=x onerror=alert(2)>"
                                  "\n\n[x](javascript:alert(3)) [ok](https://example.org)")
    assert "<strong>bold</strong>" in html
    # Raw HTML is shown as text, never as tags; the javascript: link is not a link.
    assert "<script" not in html and "<img" not in html and "&lt;script&gt;" in html
    assert 'href="javascript' not in html
    assert 'href="https://example.org"' in html and 'rel="noopener noreferrer nofollow"' in html
    # The sanitizer on its own strips scripts and event handlers from real HTML.
    clean = detail.sanitize_html('<p onclick="x()">hi<script>alert(1)</script><img src=x onerror="alert(2)">'
                                 '<a href="javascript:alert(3)">j</a><a href="https://ok.example/">ok</a></p>')
    assert "script" not in clean and "onerror" not in clean and "onclick" not in clean and "<img" not in clean
    assert "javascript" not in clean and 'href="https://ok.example/"' in clean and clean.startswith("<p>hi")


def test_note_add_renders_sanitized_and_delete_is_audited(client, orgs):
    network = make_network(orgs.a.org.id)
    db.session.commit()
    login(client, orgs)
    r = client.post(f"/wireless/networks/{network.id}/notes",
                    data={"note": "Seen at the *gym*.\n\n<script>alert('x')</script><b onmouseover=x()>hi</b>"})
    assert r.status_code == 303
    html = client.get(f"/wireless/networks/{network.id}").get_data(as_text=True)
    body = html.split('id="notes-h"')[1]
    assert "<em>gym</em>" in body and "<script>alert" not in body and "<b onmouseover" not in body
    assert client.post(f"/wireless/networks/{network.id}/notes", data={"note": ""}).status_code == 422
    note = db.session.scalar(sa.select(NetworkNote))
    assert client.post(f"/wireless/notes/{note.id}/delete").status_code == 303
    assert db.session.scalar(sa.select(sa.func.count(NetworkNote.id))) == 0
    assert {"wireless.note_added", "wireless.note_deleted"} <= set(audit_actions())


# ---------------------------------------------------------------- media


def png_bytes(size=(640, 480)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def upload(client, network_id, data: bytes, name: str):
    # The body is encoded here: Werkzeug's test encoder spools bodies over 500 KB to a
    # temporary file it never closes (a ResourceWarning, an error under filterwarnings).
    boundary = "vigil-test-boundary"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="description"\r\n\r\nphoto of the car\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return client.post(f"/wireless/networks/{network_id}/media", data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


def test_image_upload_makes_thumbnail_and_serves_safely(client, orgs, media_dir):
    network = make_network(orgs.a.org.id)
    db.session.commit()
    login(client, orgs)
    assert upload(client, network.id, png_bytes(), "car.png").status_code == 303
    row = db.session.scalar(sa.select(NetworkMedia))
    assert row.media_type == "image" and row.mime_type == "image/png" and row.thumbnail_path
    thumb = media_dir / row.thumbnail_path
    with Image.open(thumb) as img:
        assert max(img.size) <= 320
    with client.get(f"/wireless/media/{row.id}") as r:
        assert r.status_code == 200 and r.headers["Content-Type"] == "image/png"
        assert r.headers["X-Content-Type-Options"] == "nosniff" and "sandbox" in r.headers["Content-Security-Policy"]
        assert "car.png" in r.headers["Content-Disposition"] and r.get_data() == png_bytes()
    with client.get(f"/wireless/media/{row.id}/thumbnail") as r:
        assert r.status_code == 200 and r.headers["Content-Type"] == "image/jpeg"
    assert f"/wireless/media/{row.id}/thumbnail" in client.get(f"/wireless/networks/{network.id}").get_data(as_text=True)


def test_document_is_an_attachment(client, orgs, media_dir):
    network = make_network(orgs.a.org.id)
    db.session.commit()
    login(client, orgs)
    assert upload(client, network.id, b"%PDF-1.7\n%\xe2\xe3\n1 0 obj\n", "report.pdf").status_code == 303
    row = db.session.scalar(sa.select(NetworkMedia))
    with client.get(f"/wireless/media/{row.id}") as r:
        assert r.headers["Content-Type"] == "application/pdf"
        assert r.headers["Content-Disposition"].startswith("attachment")


@pytest.mark.parametrize("data,name", [
    (b"%PDF-1.7 not an image", "fake.png"),  # extension says image, content is a PDF
    (b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "logo.svg"),  # type not accepted
    (b"<html><script>alert(1)</script></html>", "notes.txt"),  # markup posing as text
    (b"MZ\x90\x00\x03\x00\x00\x00", "tool.exe"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "broken.png"),  # PNG magic, unreadable body
])
def test_wrong_type_is_refused(client, orgs, media_dir, data, name):
    network = make_network(orgs.a.org.id)
    db.session.commit()
    login(client, orgs)
    r = upload(client, network.id, data, name)
    assert r.status_code == 415
    assert db.session.scalar(sa.select(sa.func.count(NetworkMedia.id))) == 0
    assert not any(p.is_file() for p in media_dir.rglob("*"))


def test_too_big_is_refused(client, orgs, media_dir):
    db.session.merge(Setting(key="wireless.media_max_mb", value=1))
    network = make_network(orgs.a.org.id)
    db.session.commit()
    login(client, orgs)
    r = upload(client, network.id, b"a" * (1024 * 1024 + 10), "big.txt")
    assert r.status_code == 413 and "larger than the limit of 1 MB" in r.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(NetworkMedia.id))) == 0
    assert upload(client, network.id, b"small text\n", "small.txt").status_code == 303


def test_media_delete_is_audited_and_removes_files(client, orgs, media_dir):
    network = make_network(orgs.a.org.id)
    db.session.commit()
    login(client, orgs)
    upload(client, network.id, png_bytes((50, 50)), "a.png")
    row = db.session.scalar(sa.select(NetworkMedia))
    files = [media_dir / row.file_path, media_dir / row.thumbnail_path]
    assert all(f.is_file() for f in files)
    assert client.post(f"/wireless/media/{row.id}/delete").status_code == 303
    assert not any(f.exists() for f in files)
    assert "wireless.media_deleted" in audit_actions()


# ---------------------------------------------------------------- permissions and tenancy


def test_read_only_may_view_but_not_change(client, orgs, media_dir):
    network = make_network(orgs.a.org.id)
    db.session.commit()
    login(client, orgs, "read_only")
    html = client.get(f"/wireless/networks/{network.id}").get_data(as_text=True)
    # Neither form is drawn (the side navigation may say "Uploads": another domain's page).
    assert "Add tag" not in html and f"/wireless/networks/{network.id}/media" not in html
    assert ">Upload</button>" not in html
    assert client.post(f"/wireless/networks/{network.id}/tags", data={"tag": "THREAT"}).status_code == 403
    assert client.post(f"/wireless/networks/{network.id}/notes", data={"note": "x"}).status_code == 403
    assert upload(client, network.id, png_bytes((10, 10)), "x.png").status_code == 403


def test_other_org_cannot_reach_any_network_route(client, orgs, media_dir):
    network = make_network(orgs.b.org.id)
    db.session.commit()
    login(client, orgs, "analyst", "b")
    upload(client, network.id, png_bytes((20, 20)), "b.png")
    client.post(f"/wireless/networks/{network.id}/notes", data={"note": "b's note"})
    client.post(f"/wireless/networks/{network.id}/tags", data={"tag": "SUSPECT"})
    client.post("/auth/logout")
    media_row = db.session.scalar(sa.select(NetworkMedia))
    note = db.session.scalar(sa.select(NetworkNote))
    tag = db.session.scalar(sa.select(NetworkTag))
    login(client, orgs, "admin", "a")
    assert_other_org_cannot_reach(client, [
        ("GET", f"/wireless/networks/{network.id}"), ("GET", f"/wireless/networks/{network.id}/score"),
        ("POST", f"/wireless/networks/{network.id}/tags"), ("POST", f"/wireless/networks/{network.id}/tags/{tag.id}/remove"),
        ("POST", f"/wireless/networks/{network.id}/notes"), ("POST", f"/wireless/notes/{note.id}/delete"),
        ("POST", f"/wireless/networks/{network.id}/media"), ("GET", f"/wireless/media/{media_row.id}"),
        ("GET", f"/wireless/media/{media_row.id}/thumbnail"), ("POST", f"/wireless/media/{media_row.id}/delete"),
    ], data={"tag": "THREAT", "note": "x"})
    # A tag of org B cannot be removed through org A's network either.
    own = make_network(orgs.a.org.id)
    db.session.commit()
    assert client.post(f"/wireless/networks/{own.id}/tags/{tag.id}/remove").status_code == 404


def test_model_blend_is_written_out(client, orgs):
    network = make_network(orgs.a.org.id, threat=45.5)
    network.threat_level = "MEDIUM"
    network.threat_factors = {
        "version": "rules-1", "score": 45.5, "level": "MEDIUM", "rule_score": 35.0, "ml_probability": 0.7,
        "ml_weight": 0.3, "model_version": "random_forest-3",
        "factors": [{"code": "follow_legs", "points": 30.0, "explanation": "Legs.", "details": {}},
                    {"code": "persistence", "points": 5.0, "explanation": "Days.", "details": {}}]}
    db.session.commit()
    client.login(orgs.a.users["analyst"].email)
    html = client.get(f"/wireless/networks/{network.id}").get_data(as_text=True)
    assert "Model random_forest-3 gives a threat probability of 0.70" in html
    assert "(1 &minus; 0.3) &times; 35.0 + 0.3 &times; 100 &times; 0.70 = 45.5" in html
    assert re.search(r"Rule factors</th><th[^>]*>35.0<", html)
