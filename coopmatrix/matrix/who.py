"""Who to contact: for a State and a thematic area, that State's own focal points and central
authorities, and the contacts of the providers active there in the matrix.

It lives with the matrix because it reads activities; the directory does not depend on them.
Everything it lists passes the visibility rule: activities, organizations and contacts alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count
from django.utils import timezone

from coopmatrix.directory.models import Contact, Organization
from coopmatrix.geo.models import State
from coopmatrix.vocabulary.models import ThematicArea

from .filtersets import ActivityFilterSet
from .models import Activity, ActivityProvider, under_way_q

#: An activity is "active" for this view while it is in the pipeline, planned or under way.
ACTIVE = (Activity.Status.PIPELINE, Activity.Status.PLANNED, Activity.Status.ONGOING)


@dataclass
class Provider:
    organization: Organization
    activities: int
    contacts: list[Contact] = field(default_factory=list)


@dataclass
class WhoToContact:
    state: State
    thematic_area: ThematicArea | None
    national: list[Contact]
    providers: list[Provider]


def _contacts(user: Any) -> Any:
    """Entries in use today: one whose validity has ended is history, not a contact."""
    return (
        Contact.objects.visible_to(user)
        .valid_on(timezone.localdate())
        .filter(erased_on__isnull=True)
        .select_related("organization", "state")
        .prefetch_related("roles")
    )


def who_to_contact(user: Any, state: State, thematic_area: ThematicArea | None = None) -> WhoToContact:
    national = list(_contacts(user).filter(state=state))
    # A State's own functions (focal point, central authorities …) first, then the rest.
    national.sort(
        key=lambda c: (
            not any(r.national for r in c.roles.all()),
            min((r.order for r in c.roles.all()), default=99),
            c.function,
        )
    )
    data: dict[str, Any] = {"state": [state.code], "status": list(ACTIVE)}
    if thematic_area is not None:
        data["thematic_area"] = [thematic_area.code]
    activities = ActivityFilterSet(data, queryset=Activity.objects.visible_to(user))
    if not activities.is_valid():  # the codes come from records: a failure is a bug, not input
        raise ValueError(activities.errors)
    visible = Organization.objects.visible_to(user)
    counts = (
        ActivityProvider.objects.filter(
            # Work under way today: an activity whose dates ended years ago is not, whatever its
            # recorded status says.
            activity__in=activities.qs.filter(under_way_q(timezone.localdate())).values("pk"),
            organization__in=visible,
        )
        .values("organization")
        .annotate(n=Count("activity", distinct=True))
    )
    found = {row["organization"]: row["n"] for row in counts}
    providers = {
        org.pk: Provider(org, found[org.pk]) for org in visible.filter(pk__in=found).order_by("name")
    }
    for contact in _contacts(user).filter(organization_id__in=providers):
        providers[contact.organization_id].contacts.append(contact)
    ordered = sorted(providers.values(), key=lambda p: (-p.activities, p.organization.name))
    return WhoToContact(state, thematic_area, national, ordered)
