"""Issue 14, uploads and sizes: a file cannot exhaust the server. Each bound is checked by the
behaviour a user sees (the page's answer, the row it names); the memory they keep an upload in
is measured by `make bench` (benchmarks/bench_uploads.py), not here."""

import html
import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from openpyxl import Workbook

from coopmatrix.core import spreadsheets
from coopmatrix.core.models import PendingImport
from coopmatrix.core.spreadsheets import FileRefused
from coopmatrix.matrix import importers
from coopmatrix.matrix.models import Activity

HEADER = "external_id,title,providers,modality,status"


def _upload(client, content, name="activities.csv"):
    response = client.post("/matrix/import/", {"file": SimpleUploadedFile(name, content)})
    return response.status_code, html.unescape(response.content.decode())


@override_settings(COOPMATRIX_UPLOAD_BYTES=64 * 1024)
def test_a_file_over_the_size_limit_is_dropped_as_it_arrives_and_named(cast, client, reference):
    client.force_login(cast.user("editor_a"))
    row = "t-{n},Workshop {n},test-org-a:implementing,workshop,planned"
    content = "\n".join([HEADER, *(row.format(n=n) for n in range(2000))]).encode()
    assert len(content) > 64 * 1024
    status, page = _upload(client, content)
    assert status == 413
    assert "The file is larger than 64.0\xa0KB: split it." in page
    assert not PendingImport.objects.exists() and not Activity.objects.filter(external_id="t-1").exists()


def test_reading_stops_at_the_row_past_the_limit_and_names_it():
    rows = [f"t-{n},Workshop {n},org:implementing,workshop,planned" for n in range(5000)]
    content = "\n".join([HEADER, *rows]).encode()
    with pytest.raises(FileRefused) as refused:
        list(spreadsheets.read_rows(content, "big.csv", HEADER.split(","), ["title"], max_rows=50))
    assert "more than 50 rows of data (row 52 is one too many)" in str(refused.value)


def test_the_page_refuses_a_file_with_more_rows_than_the_limit(cast, client, reference, monkeypatch):
    monkeypatch.setattr(importers, "MAX_ROWS", 3)
    client.force_login(cast.user("editor_a"))
    rows = [f"t-{n},Workshop {n},test-org-a:implementing,workshop,planned" for n in range(4)]
    status, page = _upload(client, "\n".join([HEADER, *rows]).encode())
    assert status == 422
    assert "more than 3 rows of data (row 5 is one too many): split the file" in page
    assert not Activity.objects.filter(external_id="t-0").exists()


def test_a_cell_longer_than_csv_allows_is_refused_naming_the_line(cast, client, reference):
    client.force_login(cast.user("editor_a"))
    content = f'{HEADER}\nt-1,"{"x" * 200_000}",test-org-a:implementing,workshop,planned\n'.encode()
    status, page = _upload(client, content)
    assert status == 422
    assert "line 2: cannot be read as CSV" in page


def _workbook(rows):
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Activities"
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _with_part(content, name, data):
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item.filename))
        dst.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize(
    ("cap", "part"),
    [("XLSX_SHARED_STRINGS_BYTES", "xl/sharedStrings.xml"), ("XLSX_PART_BYTES", "xl/worksheets/sheet1.xml")],
)
def test_a_workbook_whose_parts_expand_past_the_cap_is_refused_unread(
    cast, client, reference, monkeypatch, cap, part
):
    monkeypatch.setattr(spreadsheets, cap, 256 * 1024)
    # 600 KB of the same letter (Excel keeps at most 32,767 characters a cell): a few KB compressed.
    content = _workbook([HEADER.split(","), *([f"t-{n}", "y" * 30_000] for n in range(20))])
    if part == "xl/sharedStrings.xml":
        content = _workbook([HEADER.split(",")])
        content = _with_part(content, part, b"<sst>" + b"<si><t>" + b"y" * 400_000 + b"</t></si></sst>")
    assert len(content) < 64 * 1024
    client.force_login(cast.user("editor_a"))
    status, page = _upload(client, content, "bomb.xlsx")
    assert status == 422
    assert f"the workbook's part {part} expands to" in page
    assert "more than the 256.0 KB allowed" in page


def test_a_workbook_declaring_sixteen_thousand_columns_is_read_to_its_header_only():
    """A dimension of A1:XFD5 and a value in column XFD made openpyxl build 16,384 cells a row."""
    content = _workbook([HEADER.split(","), ["t-1", "Workshop", "org:implementing", "workshop", "planned"]])
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = data.decode().replace('<dimension ref="A1:E2"/>', '<dimension ref="A1:XFD3"/>')
                far = '<row r="3"><c r="XFD3" t="n"><v>1</v></c></row>'
                data = text.replace("</sheetData>", far + "</sheetData>").encode()
            dst.writestr(item, data)
    rows = list(spreadsheets.read_rows(out.getvalue(), "wide.xlsx", HEADER.split(","), ["title"]))
    assert rows == [
        (
            2,
            {
                "external_id": "t-1",
                "title": "Workshop",
                "providers": "org:implementing",
                "modality": "workshop",
                "status": "planned",
            },
        )
    ]
    wide = _workbook([[f"c{n}" for n in range(spreadsheets.MAX_COLUMNS + 5)]])
    with pytest.raises(FileRefused, match=f"more than {spreadsheets.MAX_COLUMNS} columns"):
        list(spreadsheets.read_rows(wide, "wide.xlsx", HEADER.split(","), ["title"]))


@pytest.mark.parametrize("url", ["/matrix/import/", "/contacts/import/", "/treaty-actions/import/"])
def test_a_reader_is_refused_before_the_upload_is_read(cast, client, reference, url):
    client.force_login(cast.user("reader"))
    assert client.get(url).status_code == 403
    # A damaged file would be named if it were read; the reader is told only that it may not import.
    response = client.post(url, {"file": SimpleUploadedFile("x.xlsx", b"PK\x03\x04 not a workbook")})
    assert response.status_code == 403
    assert "damaged" not in response.content.decode()
    assert not PendingImport.objects.exists()
