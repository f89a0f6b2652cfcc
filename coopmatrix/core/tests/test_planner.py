"""A large import into a database that held little: the tables it wrote are analysed inside its
transaction (core.planner), so that PostgreSQL's planner knows of their new rows."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction

from coopmatrix.core import planner


@pytest.mark.django_db(transaction=True)
def test_the_tables_a_transaction_filled_are_analysed_in_it(monkeypatch):
    monkeypatch.setattr(planner, "FIRST", 2000)
    users = get_user_model()
    statistics = planner.Statistics()
    with transaction.atomic():
        users.objects.bulk_create(users(username=f"planner-{n}") for n in range(2500))
        assert statistics.written(1999) == []  # not yet
        analysed = statistics.written(2000)
        if connection.vendor == "postgresql":
            assert analysed == ["auth_user"]
            with connection.cursor() as cursor:
                cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'auth_user'")
                assert cursor.fetchone()[0] >= 2500
                cursor.execute("SHOW lock_timeout")
                assert cursor.fetchone()[0] == "0"  # as it was
        else:
            assert analysed == []  # SQLite plans these lookups by their index without statistics
        assert statistics.written(7999) == []  # until the count has grown fourfold
        users.objects.create(username="planner-last")
    assert users.objects.filter(username__startswith="planner-").count() == 2501
