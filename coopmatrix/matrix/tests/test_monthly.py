"""The monthly matrix, as the records stood at the end of the month."""

import datetime as dt
import io

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone
from openpyxl import load_workbook

from coopmatrix.core.models import Confidentiality
from coopmatrix.geo.models import State
from coopmatrix.matrix import monthly
from coopmatrix.matrix.models import Activity, ActivityProvider, MonthlyMatrixSubscription


def _at(text):
    return timezone.make_aware(dt.datetime.fromisoformat(text))


def _record(cast, title, when, state="BEN", **fields):
    activity = Activity(title=title, modality="workshop", status="planned", owner=cast.org_a, **fields)
    activity._history_date = _at(when)
    activity.save()
    activity.recipient_states.add(State.objects.get(code=state))
    provider = ActivityProvider(activity=activity, organization=cast.org_a, role="implementing")
    provider._history_date = _at(when)
    provider.save()
    return activity


def _titles(matrix):
    return {line.title for group in matrix.groups for line in group.lines}


def test_it_shows_activities_as_they_stood_at_the_end_of_the_month(cast, reference):
    early = _record(cast, "Planned in February", "2004-02-10T10:00")
    early.status = "completed"
    early._history_date = _at("2004-04-02T10:00")
    early.save()
    _record(cast, "Recorded in May", "2004-05-03T10:00")
    march = monthly.build(dt.date(2004, 3, 1), "country", None)
    assert _titles(march) == {"Planned in February"}
    (group,) = march.groups
    assert (group.name, group.lines[0].status) == ("Benin", "Planned")
    april = monthly.build(dt.date(2004, 4, 1), "country", None)
    assert _titles(april) == set()  # completed by the end of April


def test_a_confidential_activity_is_in_its_owners_matrix_only(cast, reference):
    _record(cast, "Confidential mentoring", "2004-03-01T10:00", confidentiality=Confidentiality.CONFIDENTIAL)
    assert _titles(monthly.build(dt.date(2004, 3, 1), "country", None)) == set()
    mine = monthly.build(dt.date(2004, 3, 1), "country", cast.user("editor_a"))
    assert _titles(mine) == {"Confidential mentoring"}
    assert mine.highest == "Confidential"


def test_it_groups_by_subregion_and_region(cast, reference):
    _record(cast, "In Benin", "2004-03-01T10:00", state="BEN")
    _record(cast, "In Kyrgyzstan", "2004-03-01T10:00", state="KGZ")
    by_subregion = monthly.build(dt.date(2004, 3, 1), "subregion", None)
    assert [g.name for g in by_subregion.groups] == ["Central Asia", "Sub-Saharan Africa"]
    by_region = monthly.build(dt.date(2004, 3, 1), "region", None)
    assert [g.name for g in by_region.groups] == ["Africa", "Asia"]


def test_the_period_basis_rebuilds_the_report_month_from_the_seed_records(reference):
    matrix = monthly.build(dt.date(2004, 3, 1), "country", None, basis="period")
    kyrgyzstan = next(g for g in matrix.groups if g.key == "KGZ")
    assert "Direct legal advisory services on the universal instruments: Kyrgyzstan" in {
        line.title for line in kyrgyzstan.lines
    }
    assert monthly.build(dt.date(2004, 3, 1), "country", None).groups == []


def test_the_command_writes_pdf_and_xlsx(cast, reference, tmp_path):
    _record(cast, "Workshop in Benin", "2004-03-01T10:00")
    pdf = tmp_path / "m.pdf"
    call_command("monthly_matrix", month="2004-03", by="subregion", format="pdf", output=pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    xlsx = tmp_path / "m.xlsx"
    call_command("monthly_matrix", month="2004-03", by="country", format="xlsx", output=xlsx)
    workbook = load_workbook(xlsx)
    rows = list(workbook["Matrix"].iter_rows(values_only=True))
    assert rows[1][:3] == ("Benin", "Workshop in Benin", "Organization A (made for tests)")
    cover = {r[0]: r[1] for r in workbook["Cover"].iter_rows(values_only=True)}
    assert cover["Basis"] == "as the records stood at the end of the month"


def test_the_command_refuses_a_bad_month(reference, tmp_path):
    with pytest.raises(CommandError, match="'2004-13' is not a month"):
        call_command("monthly_matrix", month="2004-13", output=tmp_path / "x.pdf")


def test_subscribers_receive_it_by_email_once(cast, reference):
    _record(cast, "Confidential in Benin", "2004-03-01T10:00", confidentiality=Confidentiality.CONFIDENTIAL)
    MonthlyMatrixSubscription.objects.create(user=cast.user("editor_a"), by="country", format="xlsx")
    MonthlyMatrixSubscription.objects.create(user=cast.user("reader"), by="country", format="pdf")
    call_command("send_monthly_matrix", month="2004-03")
    assert sorted(m.to[0] for m in mail.outbox) == ["editor_a@example.org", "reader@example.org"]
    to_editor = next(m for m in mail.outbox if m.to == ["editor_a@example.org"])
    name, content, _mime = to_editor.attachments[0]
    assert name == "monthly-matrix-2004-03-country.xlsx"
    rows = list(load_workbook(io.BytesIO(content))["Matrix"].iter_rows(values_only=True))
    assert rows[1][1] == "Confidential in Benin"
    to_reader = next(m for m in mail.outbox if m.to == ["reader@example.org"])
    assert to_reader.attachments[0][2] == "application/pdf"
    call_command("send_monthly_matrix", month="2004-03")
    assert len(mail.outbox) == 2  # not sent twice for the same month


def test_the_monthly_page_and_subscribing(cast, client, reference):
    page = client.get("/matrix/monthly/?month=2004-03&by=country&basis=period").content.decode()
    assert "Direct legal advisory services on the universal instruments: Kyrgyzstan" in page
    assert client.get("/matrix/monthly/?month=March").status_code == 400
    client.force_login(cast.user("reader"))
    client.post("/matrix/monthly/subscribe/", {"by": "subregion", "format": "pdf"})
    assert MonthlyMatrixSubscription.objects.filter(user=cast.user("reader"), by="subregion").exists()
    response = client.get("/matrix/monthly/?month=2004-03&by=region&basis=period&format=pdf")
    assert response["Content-Type"] == "application/pdf"


def test_providers_changed_through_the_api_are_shown_as_they_were_that_month(client, cast, reference):
    from coopmatrix.accounts.models import ApiToken
    from coopmatrix.matrix import actions

    _token, key = ApiToken.issue(cast.user("editor_a"), "tests")
    payload = {
        "title": "Mentoring recorded through the API",
        "providers": [{"organization": "test-org-a", "role": "implementing"}],
        "recipient_states": ["BEN"],
        "modality": "mentorship",
        "status": "ongoing",
    }
    created = client.post(
        "/api/v1/activities", payload, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
    )
    assert created.status_code == 201, created.content
    this_month = timezone.localdate().replace(day=1)
    (line,) = [
        line
        for g in monthly.build(this_month, "country", None).groups
        for line in g.lines
        if line.title == payload["title"]
    ]
    assert line.providers == cast.org_a.label
    # A provider removed later is gone from today's record but stays in history: the row's removal
    # is itself recorded, not lost in a bulk delete.
    activity = Activity.objects.get(pk=created.json()["id"])
    actions.save_activity(
        cast.user("secretariat"),
        {**payload, "providers": [{"organization": "test-org-b", "role": "funding"}]},
        activity,
    )
    kinds = sorted(
        ActivityProvider.history.filter(activity_id=activity.pk).values_list("history_type", flat=True)
    )
    assert kinds == ["+", "+", "-"]
