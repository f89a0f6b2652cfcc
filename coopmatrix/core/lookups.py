"""`field__among=[…]`: a field equal to one of many values, sent as one parameter.

Django's `__in` writes a placeholder per value. For the hundreds or thousands of keys some reads
gather first (what a user sees otherwise than as an owner, funding.sums), building and sending
such a query took longer than running it: some 20 ms of a 60 ms step went to Django resolving
each value and to psycopg splitting the query at each placeholder. PostgreSQL gets the values
as one array (`= ANY(%s)`), SQLite as one JSON list read by `json_each`.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import models
from django.db.models import Lookup


class Among(Lookup):
    lookup_name = "among"
    prepare_rhs = False

    def get_prep_lookup(self) -> list[Any]:
        field = self.lhs.output_field
        return [field.get_prep_value(value) for value in self.rhs]

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = list(self.rhs)
        if connection.vendor == "postgresql":
            if values and all(type(value) is int for value in values):
                # Keys as one array literal: psycopg's adapter of a list takes each value in turn
                # (a second for the million keys a large import's funding sums ask about).
                return f"{lhs} = ANY(%s::bigint[])", [*lhs_params, "{" + ",".join(map(str, values)) + "}"]
            return f"{lhs} = ANY(%s)", [*lhs_params, values]
        return f"{lhs} IN (SELECT value FROM json_each(%s))", [*lhs_params, json.dumps(values)]


models.Field.register_lookup(Among)
# Relations keep lookups of their own (`activity__in` takes records): registered there too.
models.ForeignObject.register_lookup(Among)
