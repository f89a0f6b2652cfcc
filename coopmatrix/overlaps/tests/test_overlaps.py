"""Possible overlaps: found on every save, reviewed with a verdict, seen through the one rule."""

import csv
import datetime as dt
import io

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from coopmatrix.accounts.models import ApiToken
from coopmatrix.core.testing import share
from coopmatrix.matrix import actions as matrix_actions
from coopmatrix.matrix.models import Activity
from coopmatrix.overlaps import engine
from coopmatrix.overlaps.models import Overlap

from .visibility import activity


def _as(cast, role):
    _token, key = ApiToken.issue(cast.user(role), "tests")
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def _pair(a, b):
    first, second = sorted([a.pk, b.pk])
    return Overlap.objects.filter(first_id=first, second_id=second).first()


def _titles(*keys):
    return set(Activity.objects.filter(pk__in=keys).values_list("title", flat=True))


# --- the real data ---------------------------------------------------------------------------------


def test_the_seed_reports_workshops_for_the_same_states_in_the_same_year_are_proposed(reference):
    call_command("find_overlaps", "--quiet-progress", stdout=io.StringIO())
    found = {
        frozenset((o.first.title, o.second.title)): o
        for o in Overlap.objects.select_related("first", "second")
    }
    uk = next(t for pair in found for t in pair if t.startswith("Workshop in the United Kingdom"))
    turkey = next(t for pair in found for t in pair if t.startswith("Workshop in Turkey"))
    best = max(found.values(), key=lambda o: o.score)
    # ¶13: both workshops for the Central Asian States, in the same months: the strongest pair.
    assert {best.first.title, best.second.title} == {uk, turkey}
    assert any("States in common" in line for line in best.explanation())
    assert all(o.score >= 0.8 for o in found.values())


def test_a_lower_threshold_proposes_the_regional_work_beside_the_missions_to_its_states(reference, settings):
    settings.OVERLAP_THRESHOLD = 0.7
    call_command("find_overlaps", "--quiet-progress", stdout=io.StringIO())
    pairs = {
        frozenset((o.first.title, o.second.title)) for o in Overlap.objects.select_related("first", "second")
    }
    # The Costa Rica workshop (¶13) and the joint assistance with OAS (¶61) reach the same States.
    assert any(
        any(t.startswith("Workshop in Costa Rica") for t in pair)
        and any(t.startswith("Joint assistance with OAS") for t in pair)
        for pair in pairs
    )


def test_find_overlaps_can_be_run_again_and_keeps_verdicts(reference, cast):
    out = io.StringIO()
    call_command("find_overlaps", "--quiet-progress", stdout=out)
    first_run = set(Overlap.objects.values_list("first_id", "second_id", "score"))
    reviewed = Overlap.objects.order_by("-score").first()
    reviewed.verdict, reviewed.verdict_score, reviewed.to_review = "complementary", reviewed.score, False
    reviewed.save()
    call_command("find_overlaps", "--quiet-progress", stdout=out)
    assert set(Overlap.objects.values_list("first_id", "second_id", "score")) == first_run
    reviewed.refresh_from_db()
    assert (reviewed.verdict, reviewed.to_review) == ("complementary", False)
    assert f"{len(first_run)} possible overlaps kept" in out.getvalue()


# --- every door checks ----------------------------------------------------------------------------


def _payload(**changes):
    payload = {
        "title": "Legislative drafting workshop on the universal instruments",
        "description": "Legislative drafting workshop on the universal instruments against terrorism",
        "providers": [{"organization": "test-org-b", "role": "implementing"}],
        "recipient_states": ["XXB"],
        "thematic_areas": ["ov-legal-advice"],
        "modality": "workshop",
        "status": "planned",
        "planned_start": "2004-03",
        "planned_end": "2004-03",
        "source": "made for tests",
    }
    payload.update(changes)
    return payload


def test_an_activity_saved_through_the_api_is_checked_once_committed(
    client, cast, django_capture_on_commit_callbacks
):
    # Committed before, as it would be: the check waits for a commit once (core.committing).
    with django_capture_on_commit_callbacks(execute=True):
        existing = activity(cast, "OV workshop of A", "public", cast.org_a, cast.org_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/activities", _payload(), content_type="application/json", **_as(cast, "editor_b")
        )
    assert response.status_code == 201, response.content
    created = Activity.objects.get(pk=response.json()["id"])
    pair = _pair(existing, created)
    assert pair is not None and pair.score >= 0.8 and pair.to_review
    # Changed to another State: the pair no longer holds and, never reviewed, goes.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.put(
            f"/api/v1/activities/{created.pk}",
            _payload(recipient_states=["XXA"]),
            content_type="application/json",
            **_as(cast, "editor_b"),
        )
    assert response.status_code == 200, response.content
    assert _pair(existing, created) is None


def test_the_same_provider_under_the_same_programme_is_not_a_pair(cast):
    one = activity(cast, "OV workshop one", "public", cast.org_a, cast.org_a)
    two = activity(cast, "OV workshop two", "public", cast.org_a, cast.org_a)
    engine.refresh([one.pk, two.pk])
    assert _pair(one, two) is None


def _kept_pairs():
    return {
        (o.first_id, o.second_id): (o.score, o.reasons, o.to_review, o.verdict)
        for o in Overlap.objects.order_by()
    }


def test_many_activities_checked_together_keep_what_checking_them_one_by_one_keeps(cast, monkeypatch):
    """An import checks its activities together (their pairs read once, written in bulk), also
    across the chunks it works in: the pairs kept, their scores, reasons and history are those
    of checking each in turn; a verdict is kept, a pair no longer at the threshold goes."""
    monkeypatch.setattr(engine, "STORE_CHUNK", 2)
    made = [
        activity(cast, f"OV batch workshop {n}", "public", cast.org_a, org)
        for n, org in enumerate([cast.org_a, cast.org_b, cast.org_a, cast.org_b, cast.org_b])
    ]
    made[2].modality = "advisory"
    made[2].save()
    keys = [a.pk for a in made]
    Overlap.objects.all().delete()
    Overlap.history.all().delete()
    engine.refresh(keys)
    together = _kept_pairs()
    assert len(together) >= 6  # the five share a State, an area and a month: most pair up
    # One history row a pair, as a pair saved alone gets: made, by no one, with no reason.
    assert sorted(Overlap.history.values_list("history_type", "history_user", "history_change_reason")) == [
        ("+", None, None)
    ] * len(together)
    Overlap.objects.all().delete()
    for pk in keys:
        engine.refresh([pk])
    assert _kept_pairs() == together

    # A verdict is kept; a pair that no longer reaches the threshold goes, checked together.
    reviewed = Overlap.objects.order_by("first_id", "second_id").first()
    reviewed.verdict, reviewed.verdict_score, reviewed.to_review = "joint", reviewed.score, False
    reviewed.save()
    gone = made[4]
    gone.recipient_states.set([cast.state_x])
    engine.refresh(keys)
    now = _kept_pairs()
    assert now[(reviewed.first_id, reviewed.second_id)][2:] == (False, "joint")
    assert not any(gone.pk in pair for pair in now)
    assert {pair for pair in together if gone.pk not in pair} == set(now)


def test_a_pairs_reasons_name_its_first_activity_first_whichever_of_the_two_was_saved(cast):
    first = activity(cast, "OV workshop in order", "public", cast.org_a, cast.org_a)
    second = activity(cast, "OV advice in order", "public", cast.org_b, cast.org_b)
    second.modality = "advisory"
    second.save()
    for saved in (second, first):
        engine.refresh([saved.pk])
        modality = next(r for r in _pair(first, second).reasons if r["part"] == "modality")
        assert modality["words"] == "modality workshop / advisory"


def test_a_verdict_is_kept_and_asked_again_only_when_the_score_moves_beyond_the_margin(cast, settings):
    a = activity(cast, "OV workshop of A", "public", cast.org_a, cast.org_a)
    b = activity(cast, "OV workshop of B", "public", cast.org_b, cast.org_b)
    engine.refresh([a.pk])
    pair = _pair(a, b)
    pair.verdict, pair.verdict_score, pair.to_review = "complementary", pair.score, False
    pair.save()
    # A small change (the modality) moves the score by 0.1 × its weight: below the margin.
    settings.OVERLAP_REASK_MARGIN = 0.15
    b.modality = "advisory"
    b.save()
    engine.refresh([b.pk])
    pair.refresh_from_db()
    assert (pair.verdict, pair.to_review) == ("complementary", False)
    # Moved beyond it: asked again, the verdict kept beside it.
    settings.OVERLAP_REASK_MARGIN = 0.05
    engine.refresh([b.pk])
    pair.refresh_from_db()
    assert (pair.verdict, pair.to_review) == ("complementary", True)
    assert pair.history.count() >= 3


# --- the review queue, the pair's page and the verdict --------------------------------------------


@pytest.fixture
def pair(cast):
    a = activity(cast, "OV workshop of A", "confidential", cast.org_a, cast.org_a)
    b = activity(cast, "OV workshop of B", "public", cast.org_b, cast.org_b)
    engine.refresh([a.pk])
    return _pair(a, b)


def test_the_secretariat_gives_a_verdict_on_the_page_and_it_is_kept_with_its_history(client, cast, pair):
    client.force_login(cast.user("secretariat"))
    page = client.get(pair.get_absolute_url())
    assert page.status_code == 200
    drawn = page.context["drawn"]
    response = client.post(
        f"/matrix/overlaps/{pair.pk}/verdict/",
        {"verdict": "joint", "comment": "Same workshop, ¶61", "drawn": drawn},
    )
    assert response.status_code == 302
    pair.refresh_from_db()
    assert (pair.verdict, pair.comment, pair.to_review) == ("joint", "Same workshop, ¶61", False)
    assert pair.reviewed_by == cast.user("secretariat")
    assert pair.history.first().history_user == cast.user("secretariat")
    # Both activities' pages name the other as recorded jointly.
    shown = client.get(pair.first.get_absolute_url()).content.decode()
    assert "Recorded jointly with" in shown and pair.second.title in shown
    # The queue's "not yet reviewed" no longer lists it.
    queue = client.get("/matrix/overlaps/?to_review=true&state=XXB").content.decode()
    assert "OV workshop of B" not in queue


def test_a_verdict_on_a_pair_that_changed_since_it_was_drawn_is_asked_again(client, cast, pair):
    client.force_login(cast.user("secretariat"))
    drawn = client.get(pair.get_absolute_url()).context["drawn"]
    second = pair.second
    second.title = "OV workshop of B, renamed"
    second.save()
    engine.refresh([second.pk])
    response = client.post(f"/matrix/overlaps/{pair.pk}/verdict/", {"verdict": "duplicate", "drawn": drawn})
    assert response.status_code == 409
    assert "changed since this pair was shown to you" in response.content.decode()
    pair.refresh_from_db()
    assert pair.verdict == ""
    # The page drawn anew carries the pair as it is now: the verdict given on it is taken.
    again = client.post(
        f"/matrix/overlaps/{pair.pk}/verdict/", {"verdict": "duplicate", "drawn": response.context["drawn"]}
    )
    assert again.status_code == 302
    pair.refresh_from_db()
    assert pair.verdict == "duplicate"


@pytest.mark.parametrize("role", ["anonymous", "reader", "editor_b", "focal_point"])
def test_a_pair_the_user_may_not_see_reads_as_missing_everywhere(client, cast, pair, role):
    if role != "anonymous":
        client.force_login(cast.user(role))
    assert client.get(pair.get_absolute_url()).status_code == 404
    assert client.post(f"/matrix/overlaps/{pair.pk}/verdict/", {"verdict": "duplicate"}).status_code == 404
    headers = _as(cast, role) if role != "anonymous" else {}
    assert client.get(f"/api/v1/overlaps/{pair.pk}", **headers).status_code in (401, 404)
    answer = client.post(
        f"/api/v1/overlaps/{pair.pk}/verdict",
        {"verdict": "duplicate"},
        content_type="application/json",
        **headers,
    )
    assert answer.status_code in (401, 404)
    pair.refresh_from_db()
    assert pair.verdict == ""


def test_the_owner_is_told_of_an_overlap_it_cannot_see_and_nothing_more(client, cast, pair):
    # editor_b owns the public activity; its pair with A's confidential one is hidden from it.
    client.force_login(cast.user("editor_b"))
    page = client.get(pair.second.get_absolute_url()).content.decode()
    assert 'data-testid="hidden-overlap"' in page
    assert "OV workshop of A" not in page
    # A reader of the same public activity, who may not change it, is told nothing.
    client.force_login(cast.user("reader"))
    page = client.get(pair.second.get_absolute_url()).content.decode()
    assert 'data-testid="hidden-overlap"' not in page
    # Shared with B, the pair is seen in full.
    share(pair.first, organization=cast.org_b)
    client.force_login(cast.user("editor_b"))
    page = client.get(pair.second.get_absolute_url()).content.decode()
    assert 'data-testid="overlap-count"' in page and 'data-testid="hidden-overlap"' not in page


@pytest.mark.parametrize(
    ("query", "field"),
    [("score_min=1.5", "score_min"), ("score_min=-0.1", "score_min"), ("verdict=maybe", "verdict")],
)
def test_a_filter_outside_its_range_is_refused_naming_the_field(client, cast, query, field):
    assert client.get(f"/matrix/overlaps/?{query}").status_code == 200  # the page shows the error
    assert client.get(f"/matrix/overlaps/export.csv?{query}").status_code == 400
    answer = client.get(f"/api/v1/overlaps?{query}")
    assert answer.status_code == 422
    assert field in str(answer.json()["detail"])


def test_a_verdict_that_is_not_one_is_refused_naming_the_field(client, cast, pair):
    answer = client.post(
        f"/api/v1/overlaps/{pair.pk}/verdict",
        {"verdict": "maybe"},
        content_type="application/json",
        **_as(cast, "secretariat"),
    )
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "verdict"]
    ok = client.post(
        f"/api/v1/overlaps/{pair.pk}/verdict",
        {
            "verdict": "duplicate",
            "drawn": client.get(f"/api/v1/overlaps/{pair.pk}", **_as(cast, "secretariat")).json()["drawn"],
        },
        content_type="application/json",
        **_as(cast, "secretariat"),
    )
    assert ok.status_code == 200, ok.content
    assert ok.json()["verdict"] == "duplicate"


def test_a_reader_may_see_a_pair_but_not_judge_it(client, cast):
    a = activity(cast, "OV workshop of A", "public", cast.org_a, cast.org_a)
    b = activity(cast, "OV workshop of B", "public", cast.org_b, cast.org_b)
    engine.refresh([a.pk])
    pair = _pair(a, b)
    client.force_login(cast.user("reader"))
    assert 'data-testid="verdict-form"' not in client.get(pair.get_absolute_url()).content.decode()
    assert client.post(f"/matrix/overlaps/{pair.pk}/verdict/", {"verdict": "duplicate"}).status_code == 403
    client.force_login(cast.user("editor_a"))
    assert 'data-testid="verdict-form"' in client.get(pair.get_absolute_url()).content.decode()


def test_a_pair_the_full_computation_found_is_explained_wherever_it_is_shown(client, cast, pair):
    # The full computation writes findings without their reasons: the page, the queue, the API and
    # the export explain the pair from its two activities, as the check on save explained it.
    explained = pair.reasons
    Overlap.objects.all().delete()
    engine.find_all()
    found = Overlap.objects.get(first=pair.first, second=pair.second)
    assert found.reasons == [] and found.score == pair.score
    client.force_login(cast.user("secretariat"))
    page = client.get(found.get_absolute_url()).content.decode()
    assert "States in common: XXB" in page
    queue = client.get("/matrix/overlaps/?state=XXB").content.decode()
    assert "States in common: XXB" in queue
    listed = client.get("/api/v1/overlaps?state=XXB").json()["items"]
    assert [item["reasons"] for item in listed] == [explained]
    body = b"".join(client.get("/matrix/overlaps/export.csv?state=XXB").streaming_content).decode("utf-8-sig")
    assert "States in common: XXB" in next(csv.DictReader(io.StringIO(body)))["reasons"]


def test_the_exports_hold_the_pairs_with_their_reasons(client, cast, pair):
    client.force_login(cast.user("secretariat"))
    body = b"".join(client.get("/matrix/overlaps/export.csv?state=XXB").streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [(r["first_title"], r["second_title"]) for r in rows] == [("OV workshop of A", "OV workshop of B")]
    assert "States in common: XXB" in rows[0]["reasons"]
    xlsx = client.get("/matrix/overlaps/export.xlsx?state=XXB")
    assert xlsx.status_code == 200
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(b"".join(xlsx.streaming_content)))
    data = list(book["Data"].iter_rows(values_only=True))
    assert data[1][3] == "OV workshop of A"
    # The cover says the file holds confidential records (A's activity is).
    assert any(
        "confidential" in str(cell).lower()
        for row in book["Cover"].iter_rows(values_only=True)
        for cell in row
    )


# --- the warning before saving --------------------------------------------------------------------


def test_the_page_shows_the_candidates_before_saving_and_saves_anyway_when_asked(client, cast):
    existing = activity(cast, "OV workshop of A", "public", cast.org_a, cast.org_a)
    client.force_login(cast.user("editor_b"))
    form = {
        "title": "Legislative drafting workshop on the universal instruments",
        "description": "Legislative drafting workshop on the universal instruments against terrorism",
        "implementing": ["test-org-b"],
        "recipient_states": ["XXB"],
        "thematic_areas": ["ov-legal-advice"],
        "modality": "workshop",
        "status": "planned",
        "planned_start": "2004-03",
        "planned_end": "2004-03",
        "confidentiality": "public",
    }
    before = Activity.objects.count()
    page = client.post("/activities/new/", form)
    assert page.status_code == 200, page.content.decode()[-2000:]
    text = page.content.decode()
    assert 'data-testid="overlap-warning"' in text and existing.title in text
    assert Activity.objects.count() == before  # nothing saved yet
    stamp = page.context["warning"].stamp
    saved = client.post("/activities/new/", {**form, "overlaps_seen": stamp})
    assert saved.status_code == 302
    assert Activity.objects.count() == before + 1


def test_the_api_checks_an_activity_without_saving_it(client, cast):
    existing = activity(cast, "OV workshop of A", "public", cast.org_a, cast.org_a)
    hidden = activity(cast, "OV workshop of A, confidential", "confidential", cast.org_a, cast.org_a)
    before = (Activity.objects.count(), Overlap.objects.count())
    answer = client.post(
        "/api/v1/overlaps/check", _payload(), content_type="application/json", **_as(cast, "editor_b")
    )
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert [c["activity"] for c in body["candidates"]] == [existing.pk]
    assert body["overlaps_hidden_activities"] is True
    assert hidden.title not in answer.content.decode()
    assert (Activity.objects.count(), Overlap.objects.count()) == before
    # The same errors as a save.
    bad = client.post(
        "/api/v1/overlaps/check",
        _payload(recipient_states=["Atlantis"]),
        content_type="application/json",
        **_as(cast, "editor_b"),
    )
    assert bad.status_code == 422 and "Atlantis" in bad.content.decode()


# --- settings -----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["1.5", "-0.2", "lots"])
def test_a_weight_or_threshold_outside_its_range_stops_the_start_naming_it(monkeypatch, value):
    from coopmatrix.settings import envfloat

    monkeypatch.setenv("OVERLAP_THRESHOLD", value)
    with pytest.raises(ImproperlyConfigured, match="OVERLAP_THRESHOLD"):
        envfloat("OVERLAP_THRESHOLD", "0.6")


@pytest.mark.parametrize("value", ["0", "-3", "many"])
def test_a_cap_on_the_pairs_kept_below_one_stops_the_start_naming_it(value):
    import os
    import subprocess
    import sys

    started = subprocess.run(
        [sys.executable, "-c", "import coopmatrix.settings"],
        env={**os.environ, "OVERLAP_KEEP": value},
        capture_output=True,
        text=True,
    )
    assert started.returncode != 0 and "OVERLAP_KEEP must be" in started.stderr


def test_the_score_reads_a_month_precision_date_as_its_whole_month(cast):
    a = activity(cast, "OV workshop of A", "public", cast.org_a, cast.org_a)
    b = activity(cast, "OV workshop of B", "public", cast.org_b, cast.org_b)
    b.planned_start, b.planned_start_precision = dt.date(2004, 3, 1), "month"
    b.planned_end, b.planned_end_precision = dt.date(2004, 3, 1), "month"
    b.save()
    engine.refresh([b.pk])
    reasons = {r["part"]: r for r in _pair(a, b).reasons}
    assert reasons["months"]["value"] == 1.0
    assert "1 month(s) in common" in reasons["months"]["words"]


def test_matrix_actions_save_door_is_the_one_checked(cast, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        existing = activity(cast, "OV workshop of A", "public", cast.org_a, cast.org_a)
    with django_capture_on_commit_callbacks(execute=True):
        created = matrix_actions.save_activity(cast.user("editor_b"), _payload())
    assert _pair(existing, created) is not None


# --- the grid of counts -------------------------------------------------------------------------


def test_the_grid_marks_the_cells_holding_a_pair_not_yet_reviewed_that_the_reader_may_see(client, cast, pair):
    # A's confidential activity and B's public one, both in Testland Y, area ov-legal-advice.
    client.force_login(cast.user("secretariat"))
    page = client.get("/matrix/grid/?state=XXB").content.decode()
    assert 'data-mark="XXB/ov-legal-advice"' in page
    assert "/matrix/overlaps/?to_review=true&amp;state=XXB&amp;thematic_area=ov-legal-advice" in page
    # The reader may not see A's activity: no pair, no mark.
    client.force_login(cast.user("reader"))
    assert 'data-mark="XXB/ov-legal-advice"' not in client.get("/matrix/grid/?state=XXB").content.decode()
    # Reviewed, the mark goes.
    pair.verdict, pair.verdict_score, pair.to_review = "unrelated", pair.score, False
    pair.save()
    client.force_login(cast.user("secretariat"))
    assert 'data-mark="XXB/ov-legal-advice"' not in client.get("/matrix/grid/?state=XXB").content.decode()


def test_an_import_preview_names_the_rows_that_would_overlap(client, cast):
    from django.core.files.uploadedfile import SimpleUploadedFile

    existing = activity(cast, "OV workshop of A", "public", cast.org_a, cast.org_a)
    hidden = activity(cast, "OV workshop of A, kept apart", "confidential", cast.org_a, cast.org_a)
    header = (
        "external_id,title,description,providers,recipient_states,thematic_areas,modality,status,"
        "planned_start,planned_end"
    )
    row = (
        "OV-IMPORT-1,Legislative drafting workshop on the universal instruments,"
        "Legislative drafting workshop on the universal instruments against terrorism,"
        "test-org-b:implementing,XXB,ov-legal-advice,workshop,planned,2004-03,2004-03"
    )
    client.force_login(cast.user("editor_b"))
    upload = SimpleUploadedFile("overlaps.csv", f"{header}\n{row}\n".encode(), content_type="text/csv")
    page = client.post("/matrix/import/", {"file": upload}).content.decode()
    assert "1 to create" in page
    assert "overlaps.csv, row 2 (OV-IMPORT-1): possible overlap with" in page
    assert existing.title in page and hidden.title not in page
    assert "may also overlap an activity you cannot see" in page
    assert not Activity.objects.filter(external_id="OV-IMPORT-1").exists()
