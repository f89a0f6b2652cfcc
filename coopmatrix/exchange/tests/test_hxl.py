"""HXL 3W: the matrix out as a hashtagged CSV, and 3W sheets in by their hashtags."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from coopmatrix.core.testing import login
from coopmatrix.exchange import hxl
from coopmatrix.matrix.models import Activity

HXL = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "hxl"


def _body(response) -> str:
    assert response.status_code == 200
    return b"".join(response.streaming_content).decode("utf-8-sig")


def test_the_matrix_exports_as_a_3w_sheet_with_its_hashtag_row(client, db):
    rows = list(csv.reader(io.StringIO(_body(client.get("/matrix/export.hxl.csv?state=CRI")))))
    assert rows[0][:2] == ["Identifier", "Activity"]
    assert rows[1][:4] == ["#activity+code", "#activity+name", "#description", "#org+impl"]
    public = Activity.objects.filter(confidentiality="public", reach__state__code="CRI").distinct()
    assert len(rows) - 2 == public.count() > 0
    country = rows[1].index("#country+code")
    assert all("CRI" in row[country] for row in rows[2:] if row[country])
    page = client.get("/matrix/?state=CRI").content.decode()
    assert 'href="/matrix/export.hxl.csv?state=CRI"' in page


def test_an_exported_sheet_imports_back_unchanged(cast, client):
    editor = cast.users["secretariat"]
    login(client, editor)
    content = _body(client.get("/matrix/export.hxl.csv?state=KGZ")).encode()
    preview = hxl.check(editor, content, "3w.csv")
    assert preview.ok, preview.errors[:3]
    assert preview.created == 0 and preview.updated == 0 and preview.unchanged > 0


def test_the_sheet_is_the_same_whatever_the_chunk_it_is_read_in(cast, client, monkeypatch):
    login(client, cast.users["secretariat"])
    whole = _body(client.get("/matrix/export.hxl.csv"))
    monkeypatch.setattr(hxl, "CHUNK", 2)
    assert _body(client.get("/matrix/export.hxl.csv")) == whole
    rows = list(csv.reader(io.StringIO(whole)))
    assert len(rows) - 2 == Activity.objects.count() > 4
    # Each row holds its own activity's links: the seed's Kyrgyz activities name Kyrgyzstan.
    code, country = rows[1].index("#activity+code"), rows[1].index("#country+code")
    titles = dict(Activity.objects.filter(reach__state__code="KGZ").values_list("external_id", "title"))
    assert titles and all("KGZ" in row[country] for row in rows[2:] if row[code] in titles)


def test_a_state_region_or_area_made_while_the_sheet_is_written_is_named_in_it(cast, monkeypatch):
    """A long export reads the States, regions and areas once; one made after it began, linked to
    an activity of a later chunk, is read when that chunk is."""
    from coopmatrix.directory.models import Organization
    from coopmatrix.geo.models import Region, State
    from coopmatrix.vocabulary.models import ThematicArea

    monkeypatch.setattr(hxl, "CHUNK", 2)
    activities = Activity.objects.order_by("pk")
    assert activities.count() > 4
    last = activities.last()
    pieces = hxl.export(activities, set(Organization.objects.values_list("pk", flat=True)))
    started = next(pieces) + next(pieces)  # the headers and the first chunk
    state = State.objects.create(code="XTS", iso2="", name_en="Made for tests (State)")
    region = Region.objects.create(m49=990, name="Made for tests (region)")
    area = ThematicArea.objects.create(code="made-for-tests", name="Made for tests (area)")
    last.recipient_states.add(state)
    last.recipient_regions.add(region)
    last.thematic_areas.add(area)
    rows = list(csv.reader(io.StringIO(started + "".join(pieces))))
    header = rows[1]
    (row,) = [r for r in rows[2:] if r[header.index("#activity+name")] == last.title]
    assert "XTS" in row[header.index("#country+code")].split("; ")
    assert "Made for tests (region)" in row[header.index("#region+name")]
    assert "made-for-tests" in row[header.index("#sector+code")]


def test_a_provider_the_reader_may_not_see_is_not_named(cast, client):
    from coopmatrix.matrix import actions

    hidden = cast.org_b
    hidden.confidentiality, hidden.owner = "confidential", hidden
    hidden.save()
    actions.save_activity(
        cast.user("secretariat"),
        {
            "title": "Workshop made for tests",
            "status": "completed",
            "modality": "workshop",
            "recipient_states": ["KGZ"],
            "providers": [
                {"organization": "unodc-tpb", "role": "implementing"},
                {"organization": hidden.code, "role": "funding"},
            ],
        },
    )
    sheet = _body(client.get("/matrix/export.hxl.csv?state=KGZ"))
    assert "unodc-tpb" in sheet and hidden.code not in sheet
    login(client, cast.users["secretariat"])
    assert hidden.code in _body(client.get("/matrix/export.hxl.csv?state=KGZ"))


def _sheet(*rows: list[str]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


def test_a_3w_sheet_is_read_by_its_hashtags_whatever_the_header_and_order(cast):
    content = _sheet(
        ["3W of the test organization (made for tests)"],
        ["Dónde", "Quién", "Qué", "Código", "Estado", "Área"],
        ["#country+name", "#org", "#activity+name", "#activity+code", "#status", "#sector"],
        [
            "Benin",
            "Organization A (made for tests)",
            "Taller (made for tests)",
            "XH-1",
            "Planned",
            "Criminal justice capacity",
        ],
    )
    preview = hxl.check(cast.users["editor_a"], content, "3w.csv")
    assert preview.ok, [str(e) for e in preview.errors]
    assert preview.created == 1
    assert any("hashtags are on line 3" in note for note in preview.notes)
    hxl.import_file(cast.users["editor_a"], content, "3w.csv")
    activity = Activity.objects.get(external_id="XH-1")
    assert activity.status == "planned" and activity.modality == ""
    assert [s.code for s in activity.recipient_states.all()] == ["BEN"]
    assert [a.code for a in activity.thematic_areas.all()] == ["criminal-justice"]


def test_an_xlsx_3w_sheet_is_read_too(cast):
    book = Workbook()
    sheet = book.active
    sheet.append(["Activity", "Identifier", "Who", "Status"])
    sheet.append(["#activity+name", "#activity+code", "#org+impl", "#status+code"])
    sheet.append(["Seminar (made for tests)", "XH-2", "test-org-a", "ongoing"])
    data = io.BytesIO()
    book.save(data)
    preview = hxl.check(cast.users["editor_a"], data.getvalue(), "3w.xlsx")
    assert preview.ok and preview.created == 1, [str(e) for e in preview.errors]


def test_a_name_the_matrix_does_not_know_is_named_with_its_row_and_column(cast):
    content = _sheet(
        ["#activity+name", "#activity+code", "#org+impl", "#sector"],
        ["Seminar (made for tests)", "XH-3", "Nobody we know", "WASH"],
    )
    preview = hxl.check(cast.users["editor_a"], content, "3w.csv")
    errors = {(e.line, e.column, e.value): e.reason for e in preview.errors}
    assert errors[(2, "#org+impl", "Nobody we know")].startswith("no organization")
    assert errors[(2, "#sector", "WASH")] == "no thematic area of this code or name"
    assert not Activity.objects.filter(external_id="XH-3").exists()


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("input-untagged.csv", "has no HXL hashtag row"),
        ("input-invalid.csv", "read like HXL hashtags without their '#'"),
        ("input-valid.csv", "no #activity+name column"),
        ("input-simple.csv", "no #activity+name column"),
        ("input-multiple-headers.csv", "no #activity+name column"),
    ],
)
def test_the_shared_hxl_files_get_clear_errors(cast, name, says):
    """The shared files are humanitarian 3W: who works where on which cluster, with no activity
    named. The valid ones are read (their hashtag row found under junk and several headers) and
    refused for what the matrix needs; the others are refused saying what is wrong."""
    preview = hxl.check(cast.users["secretariat"], (HXL / name).read_bytes(), name)
    assert not preview.ok
    assert any(says in e.reason for e in preview.errors), [str(e) for e in preview.errors]


def test_the_valid_shared_files_have_their_hashtag_row_found(cast):
    for name, line in (("input-valid.csv", 3), ("input-multiple-headers.csv", 3), ("input-simple.csv", 2)):
        preview = hxl.check(cast.users["secretariat"], (HXL / name).read_bytes(), name)
        assert any(f"hashtags are on line {line}" in note for note in preview.notes), (name, preview.notes)


def test_the_upload_page_previews_and_refuses(cast, client):
    login(client, cast.users["editor_a"])
    assert client.get("/matrix/import/hxl/").status_code == 200
    response = client.post(
        "/matrix/import/hxl/",
        {"file": SimpleUploadedFile("3w.csv", (HXL / "input-untagged.csv").read_bytes())},
    )
    assert response.status_code == 422 and "has no HXL hashtag row" in response.content.decode()
    login(client, cast.users["reader"])
    assert client.get("/matrix/import/hxl/").status_code == 403


def test_a_sheet_updating_an_activity_keeps_what_it_does_not_say(cast):
    secretariat = cast.users["secretariat"]
    activity = Activity.objects.exclude(programme=None).exclude(external_id=None).first()
    assert activity is not None
    providers = set(activity.provider_roles.values_list("organization__code", "role"))
    content = _sheet(
        ["#activity+code", "#activity+name"],
        [activity.external_id, activity.title + " (renamed for tests)"],
    )
    preview = hxl.import_file(secretariat, content, "3w.csv")
    assert preview.ok and preview.updated == 1, [str(e) for e in preview.errors]
    activity.refresh_from_db()
    assert activity.title.endswith("(renamed for tests)")
    assert activity.programme is not None
    assert set(activity.provider_roles.values_list("organization__code", "role")) == providers
