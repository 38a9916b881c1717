"""Zip-based uploads are checked before parsing (issue 11.7): app/uploads.py's shared limits,
and the metrics catalogue import reading spreadsheets streaming up to its row limit."""

from __future__ import annotations

import io
import os
import zipfile

import pytest
import sqlalchemy as sa

from app.metrics import catalog_files
from app.models import MetricCatalogImport, db
from app.uploads import NotAnArchive, UploadRefused, check_zip
from tests.test_metrics_catalogs import upload


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_check_zip_refuses_bombs_by_ratio_size_and_member_count():
    bomb = zipped({"zeros.bin": bytes(20 * 1024 * 1024)})  # 20 MB of zeros, ~20 KB packed
    assert len(bomb) < 100 * 1024
    with pytest.raises(UploadRefused, match="compressed more than 100 times"):
        check_zip(bomb)
    random_mb = zipped({"a.bin": os.urandom(2 * 1024 * 1024)})
    check_zip(random_mb)  # incompressible 2 MB: fine under the defaults
    with pytest.raises(UploadRefused, match="unpack to more than 1 MB"):
        check_zip(random_mb, max_uncompressed=1024 * 1024)
    with pytest.raises(UploadRefused, match="more than 3 parts"):
        check_zip(zipped({f"{i}.txt": b"x" for i in range(4)}), max_members=3)
    with pytest.raises(NotAnArchive):
        check_zip(b"not a zip at all")
    stream = io.BytesIO(random_mb)
    check_zip(stream)
    assert stream.tell() == 0  # a file object is rewound for the parser


def sheet_xlsx(rows: int) -> bytes:
    """A real .xlsx (openpyxl's own skeleton) whose first sheet has `rows` data rows."""
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["Name", "Direction", "Target"])
    buffer = io.BytesIO()
    book.save(buffer)
    body = "".join(f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>m{n}</t></is></c>'
                   f'<c r="B{n}" t="inlineStr"><is><t>higher</t></is></c><c r="C{n}"><v>{n % 97}</v></c></row>'
                   for n in range(2, rows + 2))
    sheet = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
             'spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Name</t></is></c>'
             '<c r="B1" t="inlineStr"><is><t>Direction</t></is></c><c r="C1" t="inlineStr"><is><t>Target</t></is>'
             f'</c></row>{body}</sheetData></worksheet>')
    out = io.BytesIO()
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = sheet.encode() if item.filename == "xl/worksheets/sheet1.xml" else source.read(item)
            target.writestr(item.filename, data)
    return out.getvalue()


def test_a_spreadsheet_is_read_only_up_to_the_row_limit():
    from openpyxl import load_workbook

    content = sheet_xlsx(8_000)
    book = load_workbook(io.BytesIO(content), read_only=True)
    records = catalog_files.sheet_rows(book.worksheets[0])
    book.close()
    assert len(records) == 1 + catalog_files.MAX_ROWS + 1  # stopped one row past the limit
    with pytest.raises(catalog_files.CatalogFileError, match="more than 5000 rows"):
        catalog_files.read_file("big.xlsx", content)
    fmt, headers, rows = catalog_files.read_file("ok.xlsx", sheet_xlsx(20))
    assert (fmt, headers, len(rows)) == ("xlsx", ["Name", "Direction", "Target"], 20)
    assert rows[0] == [2, ["m2", "higher", "2"]]


def test_a_zip_bomb_spreadsheet_upload_is_refused_before_parsing(client, orgs, csf):
    client.login(orgs.a.users["analyst"].email)
    bomb = zipped({"[Content_Types].xml": b"<Types/>", "xl/sharedStrings.xml": b" " * (150 * 1024 * 1024)})
    assert len(bomb) < 1024 * 1024
    response = upload(client, "bomb.xlsx", bomb)
    assert response.status_code == 422
    assert "would unpack to more than 100 MB" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MetricCatalogImport)) == 0
