"""The review queue's filters, shared by its page, its exports and the API."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from coopmatrix.core.filters import FilterSet, empty
from coopmatrix.directory.filtersets import visible_organizations
from coopmatrix.directory.models import with_units
from coopmatrix.geo.models import Region, State
from coopmatrix.matrix.filtersets import states_within
from coopmatrix.matrix.models import Activity, ActivityProvider, ActivityReach
from coopmatrix.vocabulary.models import ThematicArea

from .models import Overlap


def _either(queryset: QuerySet, activities: QuerySet) -> QuerySet:
    """Pairs one of whose two activities is among `activities` (a subquery of their keys)."""
    return queryset.filter(Q(first_id__in=activities) | Q(second_id__in=activities))


class OverlapFilterSet(FilterSet):
    state = django_filters.ModelMultipleChoiceFilter(
        queryset=State.objects.all(), to_field_name="code", label=_("Recipient State"), method="filter_state"
    )
    region = django_filters.ModelMultipleChoiceFilter(
        queryset=Region.objects.order_by("name"),
        to_field_name="m49",
        label=_("Region or sub-region (M49)"),
        method="filter_region",
    )
    provider = django_filters.ModelMultipleChoiceFilter(
        queryset=visible_organizations, to_field_name="code", label=_("Provider"), method="filter_provider"
    )
    thematic_area = django_filters.ModelMultipleChoiceFilter(
        queryset=ThematicArea.objects.all(),
        to_field_name="code",
        label=_("Thematic area"),
        method="filter_area",
    )
    score_min = django_filters.NumberFilter(
        field_name="score",
        lookup_expr="gte",
        label=_("Score at least"),
        min_value=0,
        max_value=1,
        max_digits=5,
        decimal_places=4,
    )
    verdict = django_filters.MultipleChoiceFilter(
        choices=Overlap.Verdict.choices, label=_("Verdict"), distinct=False
    )
    to_review = django_filters.BooleanFilter(label=_("Not yet reviewed (or asked again)"))
    activity = django_filters.NumberFilter(
        label=_("With the activity"), method="filter_activity", min_value=1, max_value=2**63 - 1
    )

    class Meta:
        model = Overlap
        fields = [
            "state",
            "region",
            "provider",
            "thematic_area",
            "score_min",
            "verdict",
            "to_review",
            "activity",
        ]

    def filter_state(self, queryset, name, value):
        if empty(value):
            return queryset
        return _either(queryset, ActivityReach.objects.filter(state__in=value).values("activity_id"))

    def filter_region(self, queryset, name, value):
        if empty(value):
            return queryset
        states = states_within(value)
        return _either(queryset, ActivityReach.objects.filter(state__in=states).values("activity_id"))

    def filter_provider(self, queryset, name, value):
        if empty(value):
            return queryset
        roles = ActivityProvider.objects.filter(organization_id__in=with_units(o.pk for o in value))
        return _either(queryset, roles.values("activity_id"))

    def filter_area(self, queryset, name, value):
        if empty(value):
            return queryset
        links = Activity.thematic_areas.through.objects.filter(thematicarea__in=value)
        return _either(queryset, links.values("activity_id"))

    def filter_activity(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(Q(first_id=value) | Q(second_id=value))
