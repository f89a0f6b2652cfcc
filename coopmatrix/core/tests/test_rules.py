"""The edit rule: who may change which record."""

from coopmatrix.core.models import Confidentiality
from coopmatrix.directory.models import Organization
from coopmatrix.geo.models import State


def test_editors_edit_their_own_organizations_records_only(cast):
    mine = Organization.objects.create(
        code="rule-a",
        name="A's record",
        kind="institute",
        owner=cast.org_a,
        confidentiality=Confidentiality.CONFIDENTIAL,
    )
    theirs = Organization.objects.create(code="rule-b", name="B's record", kind="institute", owner=cast.org_b)
    editable = Organization.objects.editable_by
    assert set(editable(cast.user("editor_a")).filter(code__startswith="rule")) == {mine}
    assert set(editable(cast.user("editor_b")).filter(code__startswith="rule")) == {theirs}
    assert not editable(cast.user("reader")).exists()
    assert not editable(cast.user("anonymous")).exists()
    assert set(editable(cast.user("secretariat")).filter(code__startswith="rule")) == {mine, theirs}


def test_reference_records_are_edited_by_the_secretariat_only(cast):
    assert not State.objects.editable_by(cast.user("editor_a")).exists()
    assert not State.objects.editable_by(cast.user("focal_point")).exists()
    assert State.objects.editable_by(cast.user("administrator")).count() == State.objects.count()


def test_an_inactive_user_is_the_public(cast):
    reader = cast.user("reader")
    reader.is_active = False
    restricted = Organization.objects.create(
        code="rule-r", name="restricted", kind="institute", confidentiality=Confidentiality.RESTRICTED
    )
    assert restricted not in Organization.objects.visible_to(reader)


def test_a_focal_point_keeps_the_records_of_its_state(cast):
    agency = Organization.objects.create(
        code="rule-x",
        name="FIU of X",
        kind="national_agency",
        state=cast.state_x,
        owner=cast.org_b,
        confidentiality=Confidentiality.CONFIDENTIAL,
    )
    other = Organization.objects.create(
        code="rule-y",
        name="FIU of Y",
        kind="national_agency",
        state=cast.state_y,
        owner=cast.org_b,
        confidentiality=Confidentiality.CONFIDENTIAL,
    )
    focal_point = cast.user("focal_point")
    assert agency in Organization.objects.visible_to(focal_point)
    assert other not in Organization.objects.visible_to(focal_point)
    assert set(Organization.objects.editable_by(focal_point).filter(code__startswith="rule")) == {agency}
