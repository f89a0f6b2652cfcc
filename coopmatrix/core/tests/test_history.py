"""Every change is kept: who changed what and when, and records "as at" a past moment."""

import datetime as dt

from django.utils import timezone

from coopmatrix.core.history import as_at, changes
from coopmatrix.core.models import Confidentiality, Share
from coopmatrix.core.testing import share
from coopmatrix.directory.models import Organization


def _at(day: str) -> dt.datetime:
    return timezone.make_aware(dt.datetime.fromisoformat(day))


def _save_at(record, when, **changes_):
    """Save a change as if made at `when` (history rows take the time of their save)."""
    for name, value in changes_.items():
        setattr(record, name, value)
    record._history_date = when
    record.save()


def test_as_at_gives_the_record_as_it_stood_then(cast):
    org = Organization(code="hist-org", name="Old name", kind="institute")
    org._history_date = _at("2003-01-10T12:00")
    org.save()
    _save_at(org, _at("2004-03-20T12:00"), name="New name")
    assert as_at(Organization, dt.date(2003, 12, 31)).get(code="hist-org").name == "Old name"
    assert as_at(Organization, dt.date(2004, 3, 20)).get(code="hist-org").name == "New name"
    assert not as_at(Organization, dt.date(2002, 12, 31)).filter(code="hist-org").exists()


def test_as_at_applies_the_visibility_rule_of_that_moment(cast):
    org = Organization(
        code="hist-conf",
        name="Once confidential",
        kind="institute",
        confidentiality=Confidentiality.CONFIDENTIAL,
        owner=cast.org_a,
    )
    org._history_date = _at("2003-01-10T12:00")
    org.save()
    _save_at(org, _at("2005-01-01T12:00"), confidentiality=Confidentiality.PUBLIC)
    before, after = dt.date(2004, 1, 1), dt.date(2005, 6, 1)
    assert not as_at(Organization, before, cast.user("anonymous")).filter(code="hist-conf").exists()
    assert as_at(Organization, before, cast.user("editor_a")).filter(code="hist-conf").exists()
    assert as_at(Organization, before, cast.user("secretariat")).filter(code="hist-conf").exists()
    assert as_at(Organization, after, cast.user("anonymous")).filter(code="hist-conf").exists()


def test_as_at_reads_sharing_as_it_stood(cast):
    org = Organization.objects.create(
        code="hist-shared",
        name="Shared for a while",
        kind="institute",
        confidentiality=Confidentiality.CONFIDENTIAL,
        owner=cast.org_a,
    )
    granted = share(org, organization=cast.org_b)
    while_shared = timezone.now()
    Share.objects.filter(pk=granted.pk).delete()
    editor_b = cast.user("editor_b")
    assert as_at(Organization, while_shared, editor_b).filter(code="hist-shared").exists()
    assert not as_at(Organization, timezone.now(), editor_b).filter(code="hist-shared").exists()
    assert not Organization.objects.visible_to(editor_b).filter(code="hist-shared").exists()


def test_changes_name_who_changed_which_field(cast, client):
    from simple_history.utils import update_change_reason

    editor = cast.user("editor_a")
    org = Organization.objects.create(code="hist-who", name="Before", kind="institute", owner=cast.org_a)
    org._history_user = editor
    org.name = "After"
    org.save()
    update_change_reason(org, "renamed by its editor")
    entries = changes(org)
    assert entries[0]["who"] == editor
    assert entries[0]["changes"] == [("name", "Before", "After")]
    assert entries[0]["reason"] == "renamed by its editor"
    assert entries[-1]["kind"] == "Created"
    page = client.get(org.get_absolute_url()).content.decode()
    assert "editor_a" not in page and "a user" in page  # editors are named to signed-in users only
    client.force_login(cast.user("reader"))
    page = client.get(org.get_absolute_url()).content.decode()
    assert "editor_a" in page and "Before" in page and "After" in page


def test_a_link_to_a_record_of_the_same_kind_is_named_by_its_target(reference):
    """A State's successors link States to States: the history names the successors, not the
    State itself, and reads each name once for the whole history."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from coopmatrix.geo.models import State

    yugoslavia = State.objects.get(code="YUCS")
    yugoslavia.successors.add(State.objects.get(code="SRB"))
    with CaptureQueriesContext(connection) as queries:
        entries = changes(yugoslavia)
    link = next(c for e in entries for c in e["changes"] if c[0] == "successors")
    assert "Serbia" in link[2] and "Yugoslavia" not in link[2]
    import re

    read = [
        key
        for q in queries
        if 'FROM "geo_state"' in q["sql"]
        for key in re.findall(r"\d+", re.search(r"IN \(([^)]*)\)", q["sql"]).group(1))
    ]
    assert read and len(read) == len(set(read)), read  # each State's name read once


def test_links_changed_over_many_versions_read_as_simple_history_diffs_them(reference):
    """An activity's history names each change of its linked States and areas between each pair
    of versions, as simple-history's own diff finds them; the links are read once for the whole
    history, not once per field per pair of versions."""
    import re
    from collections import Counter

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from coopmatrix.geo.models import State
    from coopmatrix.matrix.models import Activity
    from coopmatrix.vocabulary.models import ThematicArea

    states = list(State.objects.filter(code__in=["KEN", "UGA", "TZA", "RWA"]).order_by("code"))
    areas = list(ThematicArea.objects.order_by("code")[:3])
    activity = Activity.objects.create(title="Linked over time", status="planned")

    def versions(steps: int) -> None:
        for step in range(steps):
            activity.recipient_states.set(states[: 1 + step % len(states)])
            activity.thematic_areas.set(areas[step % len(areas) :])
            activity.title = f"Linked over time ({step})"
            activity.save()

    versions(9)
    with CaptureQueriesContext(connection) as queries:
        entries = changes(activity, None)
    links_read = Counter(
        table for q in queries for table in re.findall(r'FROM "(matrix_historicalactivity_\w+)"', q["sql"])
    )
    # Five linked fields, each read once for the ten versions.
    assert len(links_read) == 5 and set(links_read.values()) == {1}, links_read

    records = list(activity.history.all())
    expected = []
    for newer, older in zip(records, records[1:], strict=False):
        expected.append([c.field for c in newer.diff_against(older).changes])
    assert [[field for field, _old, _new in e["changes"]] for e in entries[:-1]] == expected
    linked = [c for e in entries for c in e["changes"] if c[0] == "recipient_states"]
    assert linked and any("Kenya" in new and "Uganda" in new for _f, _old, new in linked)
    assert any(c[0] == "thematic_areas" for e in entries for c in e["changes"])
