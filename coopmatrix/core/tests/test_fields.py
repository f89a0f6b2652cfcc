"""core.fields: JSON values read by the compiled decoder read as Django reads them."""

import pytest
from django.apps import apps
from django.db import models

from coopmatrix.core.fields import JSONField
from coopmatrix.core.models import Job

pytestmark = pytest.mark.django_db


def test_every_json_field_of_coopmatrix_is_read_by_the_fast_decoder():
    """A model added later cannot forget it: every JSON field of coopmatrix's models (their
    history's too) is coopmatrix's own."""
    plain = [
        f"{model.__name__}.{field.name}"
        for model in apps.get_models()
        if model.__module__.startswith("coopmatrix.")
        for field in model._meta.concrete_fields
        if isinstance(field, models.JSONField) and not isinstance(field, JSONField)
    ]
    assert plain == []


@pytest.mark.parametrize(
    "payload",
    [
        {"text": 'l\'État "cité"\ttab\nline\u2028sep \U0001f30d \\ back', "n": 1.5, "big": 2**70},
        {"deep": [[[[{"a": None, "b": True, "c": -0.0, "d": 1e300}]]]], "": "empty key"},
        ["a list", 12345678901234567890, {"in": "it"}],
        "just a text",
        {},
    ],
)
def test_json_values_read_back_as_they_were_saved(payload):
    """Whatever a value holds (an integer beyond 64 bits, which the compiled decoder refuses, is
    read by the standard library's), it reads back equal to what was saved, whole or by key."""
    job = Job.objects.create(kind="fields-test", payload=payload)
    assert Job.objects.get(pk=job.pk).payload == payload
    if isinstance(payload, dict) and "text" in payload:
        assert Job.objects.filter(pk=job.pk).values_list("payload__text", flat=True).get() == payload["text"]
        assert Job.objects.filter(pk=job.pk).values_list("payload__big", flat=True).get() == 2**70
