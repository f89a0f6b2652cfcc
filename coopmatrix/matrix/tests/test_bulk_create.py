"""Activities created in bulk (an import of thousands) read exactly as activities saved one by one:
the same links, the same States reached, history naming the importing user with the links as
they stood, the grid's counts (checked after every test by conftest) and the overlap check."""

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from coopmatrix.matrix import actions, bulk
from coopmatrix.matrix.models import Activity, ActivityProvider
from coopmatrix.overlaps.models import Overlap

pytestmark = pytest.mark.django_db(transaction=True)


def _data(external_id: str, provider: str) -> dict:
    return {
        "external_id": external_id,
        "title": "Workshop on the legal regime against terrorism for prosecutors (made for tests)",
        "description": "National workshop with the prosecution service (made for tests).",
        "modality": "workshop",
        "status": "completed",
        "planned_start": "2005-03-07",
        "planned_end": "2005-03-11",
        "recipient_states": ["KGZ", "KAZ"],
        # South-eastern Asia: the States it reaches through the region are reached too.
        "recipient_regions": [35],
        "thematic_areas": ["ratification-legislation"],
        "instruments": [],
        "providers": [{"organization": provider, "role": "implementing"}],
        "confidentiality": "public",
    }


def _picture(activity: Activity) -> dict:
    """What a reader sees of an activity's links and reach."""
    return {
        "states": sorted(activity.recipient_states.values_list("code", flat=True)),
        "regions": sorted(activity.recipient_regions.values_list("m49", flat=True)),
        "areas": sorted(activity.thematic_areas.values_list("code", flat=True)),
        "providers": sorted(activity.provider_roles.values_list("organization__code", "role")),
        "reach": sorted(activity.reach.values_list("state__code", "direct")),
        "period": (activity.period_start, activity.period_end),
    }


def _as_last_recorded(activity: Activity) -> dict:
    """The activity as its latest history row holds it, with the links kept with that row."""
    row = activity.history.order_by("-history_date", "-history_id").first()
    return {
        "title": row.title,
        "states": sorted(s.state.code for s in row.recipient_states.all()),
        "regions": sorted(r.region.m49 for r in row.recipient_regions.all()),
        "areas": sorted(a.thematicarea.code for a in row.thematic_areas.all()),
    }


def test_activities_created_in_bulk_read_as_those_saved_one_by_one(reference, cast):
    secretariat = cast.user("secretariat")
    with transaction.atomic():
        alone = actions.save_activity(secretariat, _data("XT-ALONE", "test-org-a"))
    cleaned = [actions.clean_activity(secretariat, _data(f"XT-BULK-{n}", "test-org-b")) for n in range(3)]
    with transaction.atomic():
        created = bulk.create_activities(cleaned, secretariat, "imported (test)")

    assert [a.external_id for a in created] == ["XT-BULK-0", "XT-BULK-1", "XT-BULK-2"]
    expected = _picture(alone)
    expected["providers"] = [("test-org-b", "implementing")]
    assert expected["reach"] and any(not direct for _code, direct in expected["reach"])
    for activity in created:
        stored = Activity.objects.get(pk=activity.pk)
        assert _picture(stored) == expected
        assert stored.period_end == dt.date(2005, 3, 11)
        # One history row, made by the importing user, holding the links as they were written.
        rows = list(stored.history.all())
        assert [(r.history_type, r.history_user, r.history_change_reason) for r in rows] == [
            ("+", secretariat, "imported (test)")
        ]
        assert _as_last_recorded(stored) == _as_last_recorded(alone)
        provider_rows = ActivityProvider.history.filter(activity_id=stored.pk)
        assert [(p.history_type, p.history_user, p.organization.code) for p in provider_rows] == [
            ("+", secretariat, "test-org-b")
        ]
    # The check on save ran for them on commit: each is a possible overlap of the one saved
    # alone (another provider, the same States, months, area and work).
    pairs = {frozenset((o.first_id, o.second_id)) for o in Overlap.objects.all()}
    assert {frozenset((alone.pk, a.pk)) for a in created} <= pairs


def test_nothing_is_left_when_a_bulk_write_fails(reference, cast):
    secretariat = cast.user("secretariat")
    cleaned = [actions.clean_activity(secretariat, _data("XT-BULK-0", "test-org-b"))]
    before = (Activity.objects.count(), Activity.history.count(), ActivityProvider.objects.count())
    with pytest.raises(RuntimeError), transaction.atomic():
        bulk.create_activities(cleaned, secretariat, "imported (test)")
        raise RuntimeError("the import stops here")
    assert (Activity.objects.count(), Activity.history.count(), ActivityProvider.objects.count()) == before


def test_a_bulk_write_without_a_user_names_the_one_acting(reference, cast):
    """A template import passes no user: the rows name whoever acts, as simple-history would."""
    from coopmatrix.core.console import acting_as

    secretariat = cast.user("secretariat")
    cleaned = [actions.clean_activity(secretariat, _data("XT-BULK-0", "test-org-b"))]
    with acting_as(secretariat), transaction.atomic():
        (created,) = bulk.create_activities(cleaned, None, "imported from a file")
    assert [r.history_user for r in Activity.objects.get(pk=created.pk).history.all()] == [secretariat]


def _changed(external_id: str, provider: str = "test-org-b") -> dict:
    """`_data` changed in every way an IATI file changes an activity: its title and end, a State
    dropped and one added, the region gone, another area, another provider or role."""
    return {
        **_data(external_id, provider),
        "title": "Workshop on the legal regime against terrorism, second week (made for tests)",
        "planned_end": "2005-04-30",
        "recipient_states": ["KAZ", "UZB"],
        "recipient_regions": [],
        "thematic_areas": ["terrorist-financing"],
        "providers": [{"organization": provider, "role": "funding"}],
    }


def test_activities_changed_in_bulk_read_as_one_changed_alone(reference, cast):
    """An import's changed activities, written together, read as one changed through the pages:
    the same fields, links, States reached and providers; one "changed" history row naming the
    importing user and the reason, holding the links as they then stood, while "as at" a moment
    before reads them as they were; the grid's counts (conftest) and the overlap check follow."""
    from coopmatrix.core.history import as_at

    secretariat = cast.user("secretariat")
    with transaction.atomic():
        alone = actions.save_activity(secretariat, _data("XT-ALONE", "test-org-a"))
        together = [actions.save_activity(secretariat, _data(f"XT-BULK-{n}", "test-org-a")) for n in range(2)]
    with transaction.atomic():
        alone = actions.save_activity(secretariat, _changed("XT-ALONE", "test-org-a"), alone)
    before = {a.pk: a.history.count() for a in together}
    moment_before = timezone.now()
    pairs = [
        (Activity.objects.get(pk=a.pk), actions.clean_activity(secretariat, _changed(a.external_id), a))
        for a in together
    ]
    with transaction.atomic():
        written = bulk.update_activities(pairs, secretariat, "imported (test)")

    assert [a.pk for a in written] == [a.pk for a in together]
    expected = _picture(Activity.objects.get(pk=alone.pk))
    assert expected["reach"] == [("KAZ", True), ("UZB", True)]
    expected["providers"] = [("test-org-b", "funding")]
    for activity in together:
        stored = Activity.objects.get(pk=activity.pk)
        assert _picture(stored) == expected
        assert stored.title == _changed("")["title"] and stored.updated > stored.created
        rows = list(stored.history.order_by("-history_date", "-history_id"))
        assert len(rows) == before[activity.pk] + 1
        assert (rows[0].history_type, rows[0].history_user, rows[0].history_change_reason) == (
            "~",
            secretariat,
            "imported (test)",
        )
        assert _as_last_recorded(stored) == _as_last_recorded(Activity.objects.get(pk=alone.pk))
        then = as_at(Activity, moment_before, secretariat).get(id=activity.pk)
        assert (then.title, then.period_end) == (_data("", "")["title"], dt.date(2005, 3, 11))
        provider_rows = ActivityProvider.history.filter(activity_id=stored.pk).order_by("history_id")
        assert [(p.history_type, p.history_user, p.organization.code, p.role) for p in provider_rows][
            -2:
        ] == [
            ("-", secretariat, "test-org-a", "implementing"),
            ("+", secretariat, "test-org-b", "funding"),
        ]
    # Checked on commit: each is now a possible overlap of the one changed alone (another
    # provider, the same States, months, area and work), which was not before.
    pairs_kept = {frozenset((o.first_id, o.second_id)) for o in Overlap.objects.all()}
    assert {frozenset((alone.pk, a.pk)) for a in together} <= pairs_kept


def test_a_file_that_says_nothing_of_requests_leaves_those_an_activity_answers(reference, cast):
    """Neither import names the requests an activity answers: a changed activity keeps them, and
    its history row holds them with its other links."""
    from coopmatrix.matrix.models import Request

    secretariat = cast.user("secretariat")
    request = Request.objects.create(
        state=cast.state_x,
        title="Request answered by the activity (made for tests)",
        received="2004-01-05",
        channel="direct",
        confidentiality="public",
        owner=cast.org_a,
    )
    with transaction.atomic():
        activity = actions.save_activity(
            secretariat, {**_data("XT-BULK-0", "test-org-a"), "requests": [request.pk]}
        )
    cleaned = actions.clean_activity(secretariat, _changed("XT-BULK-0"), activity)
    assert cleaned.requests is None
    with transaction.atomic():
        bulk.update_activities(
            [(Activity.objects.get(pk=activity.pk), cleaned)], secretariat, "imported (test)"
        )
    stored = Activity.objects.get(pk=activity.pk)
    assert list(stored.requests.values_list("pk", flat=True)) == [request.pk]
    latest = stored.history.order_by("-history_date", "-history_id").first()
    assert latest.history_type == "~"
    assert [r.request_id for r in latest.requests.all()] == [request.pk]
