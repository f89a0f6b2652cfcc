"""Foundation workloads: States and organizations through the visibility rule, the resolver."""

from __future__ import annotations

from benchmarks.harness import Workload


def workloads() -> list[Workload]:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from coopmatrix.accounts.models import Profile
    from coopmatrix.core.reference import load_reference
    from coopmatrix.core.roles import Role
    from coopmatrix.directory.models import Organization
    from coopmatrix.geo.resolver import StateResolver

    user, _ = get_user_model().objects.get_or_create(username="bench-editor")
    Profile.objects.get_or_create(
        user=user,
        defaults={"role": Role.ORGANIZATION_EDITOR, "organization": Organization.objects.get(code="osce")},
    )
    anonymous, editor = Client(), Client()
    editor.force_login(user)
    names = ["Cape Verde", "Viet Nam", "Republic of Korea", "Kyrgyzstan", "Sao Tome and Principe"] * 20
    resolver = StateResolver()
    return [
        Workload(
            "States page, anonymous, first page",
            "250 States and territories",
            lambda: anonymous.get("/states/"),
            sql="SELECT * FROM geo_state WHERE status <> 'historic' ORDER BY name_en LIMIT 50",
        ),
        Workload("States API, one page of 250", "250 States", lambda: anonymous.get("/api/v1/states")),
        Workload(
            "Organizations page, signed-in editor", "51 organizations", lambda: editor.get("/organizations/")
        ),
        Workload(
            "Resolve 100 names (one resolver)", "100 names", lambda: [resolver.resolve(n) for n in names]
        ),
        Workload("load_reference, nothing changed", "all reference files", load_reference, repeat=3),
    ]
