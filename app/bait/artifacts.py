"""The bait itself: the file or snippet a defender plants, per kind.

`artifact(token, secret)` returns (filename, media type, bytes). Every file points back at
the honeypot through the token's own URL, hostname or user name; nothing in it names Vigil.
"""

from __future__ import annotations

import io
import zipfile
from html import escape
from typing import Any

import segno

from app.bait import kinds
from app.models import BaitToken

GIF_1X1 = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
           b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")


def image_url(token: BaitToken) -> str:
    return kinds.token_url(token.identifier, "logo.gif")


def snippet(token: BaitToken, secret: dict[str, Any]) -> str:
    """The text to copy (a URL, a hostname, an <img> tag, a connection string)."""
    kind = token.bait_type
    if kind in ("url", "qr", "pdf"):
        return kinds.token_url(token.identifier)
    if kind in ("image", "html", "docx"):
        return f'<img src="{escape(image_url(token))}" width="1" height="1" alt="" style="border:0">'
    if kind == "dns":
        return token.trigger
    if kind == "postgres":
        return (f"postgresql://{secret['user']}:{secret['password']}@{secret['host']}:{secret['port']}/"
                f"{secret['database']}")
    return artifact(token, secret)[2].decode()


def aws_config(token: BaitToken, secret: dict[str, Any]) -> str:
    # The profile's endpoint_url (botocore >= 1.31) sends every service call to the honeypot.
    return (f"[default]\naws_access_key_id = {secret['aws_access_key_id']}\n"
            f"aws_secret_access_key = {secret['aws_secret_access_key']}\n"
            f"region = {secret['region']}\nendpoint_url = {kinds.token_url(token.identifier)}\noutput = json\n")


def dotenv(token: BaitToken, secret: dict[str, Any]) -> str:
    base = kinds.token_url(token.identifier)
    return ("# production settings - do not commit\n"
            "APP_ENV=production\n"
            f"STRIPE_SECRET_KEY={secret['stripe']}\nSTRIPE_API_BASE={base}/stripe\n"
            f"GITHUB_TOKEN={secret['github']}\nGITHUB_API_URL={base}/github\n"
            f"SLACK_BOT_TOKEN={secret['slack']}\nSLACK_API_URL={base}/slack/api\n")


def kubeconfig(token: BaitToken, secret: dict[str, Any]) -> str:
    server = kinds.token_url(token.identifier)
    return ("apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n"
            f"    server: {server}\n    insecure-skip-tls-verify: true\n  name: prod-eu-1\n"
            "contexts:\n- context:\n    cluster: prod-eu-1\n    user: deploy-admin\n  name: prod-eu-1\n"
            "current-context: prod-eu-1\nusers:\n- name: deploy-admin\n  user:\n"
            f"    token: {secret['token']}\n")


def html_page(token: BaitToken) -> str:
    url = escape(kinds.token_url(token.identifier))
    return ("<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Admin backup codes</title></head>\n"
            f"<body><h1>Backup codes</h1><p>The current list is on the <a href=\"{url}\">admin portal</a>.</p>\n"
            f"<img src=\"{escape(image_url(token))}\" width=\"1\" height=\"1\" alt=\"\"></body></html>\n")


def docx(token: BaitToken) -> bytes:
    """A Word document whose header image is a remote relationship: Word fetches it on opening."""
    url = escape(image_url(token), quote=True)
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    r = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pic = "http://schemas.openxmlformats.org/drawingml/2006/picture"
    a = "http://schemas.openxmlformats.org/drawingml/2006/main"
    wp = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
    drawing = (f'<w:drawing><wp:inline><wp:extent cx="9525" cy="9525"/><wp:docPr id="1" name="logo"/>'
               f'<a:graphic xmlns:a="{a}"><a:graphicData uri="{pic}"><pic:pic xmlns:pic="{pic}">'
               '<pic:nvPicPr><pic:cNvPr id="1" name="logo.gif"/><pic:cNvPicPr/></pic:nvPicPr>'
               '<pic:blipFill><a:blip r:link="rIdLogo"/><a:stretch><a:fillRect/></a:stretch></pic:blipFill>'
               '<pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="9525" cy="9525"/></a:xfrm>'
               '<a:prstGeom prst="rect"><a:avLst/></a:prstGeom></pic:spPr></pic:pic></a:graphicData></a:graphic>'
               '</wp:inline></w:drawing>')
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'wordprocessingml.document.main+xml"/></Types>'),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{r}/officeDocument" Target="word/document.xml"/></Relationships>'),
        "word/_rels/document.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rIdLogo" Type="{r}/image" Target="{url}" TargetMode="External"/>'
            '</Relationships>'),
        "word/document.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<w:document xmlns:w="{w}" xmlns:r="{r}" xmlns:wp="{wp}"><w:body>'
            f'<w:p><w:r>{drawing}</w:r></w:p>'
            '<w:p><w:r><w:t>Salary review 2026 - confidential</w:t></w:r></w:p>'
            '<w:p><w:r><w:t>Figures are final once approved by the board.</w:t></w:r></w:p>'
            '</w:body></w:document>'),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def pdf(token: BaitToken) -> bytes:
    """A one-page PDF with the link as text and as a clickable annotation."""
    url = kinds.token_url(token.identifier).replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    text = f"BT /F1 12 Tf 72 720 Td (Remote access instructions) Tj 0 -24 Td (Portal: {url}) Tj ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> /Annots [6 0 R] >>",
        f"<< /Length {len(text)} >>\nstream\n{text}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Type /Annot /Subtype /Link /Rect [72 690 540 710] /Border [0 0 0] "
        f"/A << /S /URI /URI ({url}) >> >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def qr(token: BaitToken, fmt: str) -> bytes:
    code = segno.make(kinds.token_url(token.identifier), error="m")
    buffer = io.BytesIO()
    code.save(buffer, kind=fmt, scale=8 if fmt == "png" else 4, border=2)
    return buffer.getvalue()


def artifact(token: BaitToken, secret: dict[str, Any], fmt: str | None = None) -> tuple[str, str, bytes]:
    """(file name, media type, content) of the token's bait file."""
    kind = token.bait_type
    if kind == "aws":
        return "config", "text/plain", aws_config(token, secret).encode()
    if kind == "api":
        return ".env", "text/plain", dotenv(token, secret).encode()
    if kind == "kubeconfig":
        return "config", "text/plain", kubeconfig(token, secret).encode()
    if kind == "docx":
        return ("salaries-2026.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                docx(token))
    if kind == "pdf":
        return "remote-access.pdf", "application/pdf", pdf(token)
    if kind == "html":
        return "backup-admin.html", "text/html", html_page(token).encode()
    if kind == "qr":
        svg = fmt == "svg"
        return ("wifi-qr.svg", "image/svg+xml", qr(token, "svg")) if svg else ("wifi-qr.png", "image/png", qr(token, "png"))
    if kind == "postgres":
        return "pgpass.txt", "text/plain", (snippet(token, secret) + "\n").encode()
    return "bait.txt", "text/plain", (snippet(token, secret) + "\n").encode()

