"""`__among`: a field among many values sent as one parameter selects what `__in` selects."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q

pytestmark = pytest.mark.django_db


def test_among_selects_the_records_in_selects():
    kinds = sorted(ContentType.objects.values_list("pk", flat=True))
    some = kinds[::3] + [max(kinds) + 1000]  # and a key no record has
    among = set(ContentType.objects.filter(pk__among=some).values_list("pk", flat=True))
    assert among == set(ContentType.objects.filter(pk__in=some).values_list("pk", flat=True))
    assert among and len(among) < len(kinds)


def test_among_follows_a_relation_and_can_be_negated():
    kinds = list(ContentType.objects.filter(app_label="auth").values_list("pk", flat=True))
    through_key = Permission.objects.filter(content_type_id__among=kinds)
    through_relation = Permission.objects.filter(content_type__among=kinds)
    expected = set(Permission.objects.filter(content_type__in=kinds).values_list("pk", flat=True))
    assert expected
    assert set(through_key.values_list("pk", flat=True)) == expected
    assert set(through_relation.values_list("pk", flat=True)) == expected
    others = set(Permission.objects.exclude(content_type_id__among=kinds).values_list("pk", flat=True))
    assert others == set(Permission.objects.values_list("pk", flat=True)) - expected


def test_among_no_value_selects_nothing():
    assert not ContentType.objects.filter(pk__among=[]).exists()
    assert ContentType.objects.exclude(pk__among=[]).count() == ContentType.objects.count()
    # Of a text column too (no list of keys: nothing to compare a text with a number).
    assert not ContentType.objects.filter(model__among=[]).exists()
    assert ContentType.objects.filter(Q(model__among=[]) | Q(model="contenttype")).count() == 1


def test_among_takes_keys_of_any_size_and_other_values():
    kinds = list(ContentType.objects.values_list("pk", "model"))
    huge = 2**40  # beyond a 32-bit key: no record, and no overflow either
    assert set(
        ContentType.objects.filter(pk__among=[pk for pk, _ in kinds] + [huge]).values_list("pk", flat=True)
    ) == {pk for pk, _ in kinds}
    names = [model for _, model in kinds[:3]]
    assert set(ContentType.objects.filter(model__among=names).values_list("model", flat=True)) == set(names)
