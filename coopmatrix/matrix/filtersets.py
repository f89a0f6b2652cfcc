"""One filterset per listed model, shared by the matrix page, its exports and the API."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from coopmatrix.core.filters import FilterSet, KeysFilter, empty
from coopmatrix.directory.filtersets import OrganizationOptions, visible_organizations
from coopmatrix.directory.models import with_units
from coopmatrix.geo.models import Region, State
from coopmatrix.treaties.models import Instrument
from coopmatrix.vocabulary.models import ThematicArea

from .models import Activity, ActivityProvider, ActivityReach, Programme, Request, past_its_end_q


def visible_programmes(request):
    return Programme.objects.visible_to(request.user if request else None)


def visible_instruments(request):
    return Instrument.objects.visible_to(request.user if request else None)


def _with_units(organizations) -> set[int]:
    """The organizations and every unit below them."""
    return with_units(o.pk for o in organizations)


def _areas_within(regions) -> set[int]:
    """The regions and every region below them. A State names its region, sub-region and
    intermediate region, so below those nothing more is needed; only the world has no State
    naming it."""
    if all(r.level != Region.Level.WORLD for r in regions):
        return {r.pk for r in regions}
    found, todo = set(), [r.pk for r in regions]
    parents = dict(Region.objects.values_list("pk", "parent_id"))
    while todo:
        pk = todo.pop()
        if pk not in found:
            found.add(pk)
            todo.extend(child for child, parent in parents.items() if parent == pk)
    return found


def states_within(regions) -> QuerySet:
    """The States of these regions (and of every region below them)."""
    areas = _areas_within(regions)
    return State.objects.filter(
        Q(region_id__in=areas) | Q(subregion_id__in=areas) | Q(intermediate_region_id__in=areas)
    )


class ActivityFilterSet(OrganizationOptions, FilterSet):
    organization_filters = ("provider", "funder")

    q = django_filters.CharFilter(label=_("Words in title or description"), method="filter_text")
    state = django_filters.ModelMultipleChoiceFilter(
        queryset=State.objects.all(),
        to_field_name="code",
        label=_("Recipient State"),
        method="filter_state",
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
    funder = django_filters.ModelMultipleChoiceFilter(
        queryset=visible_organizations,
        to_field_name="code",
        label=_("Funding organization"),
        method="filter_funder",
    )
    programme = django_filters.ModelChoiceFilter(
        queryset=visible_programmes, to_field_name="code", label=_("Programme"), method="filter_programme"
    )
    thematic_area = django_filters.ModelMultipleChoiceFilter(
        queryset=ThematicArea.objects.all(),
        to_field_name="code",
        field_name="thematic_areas",
        label=_("Thematic area"),
        method="filter_m2m",
    )
    instrument = django_filters.ModelMultipleChoiceFilter(
        queryset=visible_instruments,
        to_field_name="code",
        field_name="instruments",
        label=_("Instrument"),
        method="filter_m2m",
    )
    # distinct=False: a column of the row itself needs no DISTINCT, which would make the database
    # sort every matching row before it can return the first page.
    modality = django_filters.MultipleChoiceFilter(
        choices=Activity.Modality.choices, label=_("Modality"), distinct=False
    )
    status = django_filters.MultipleChoiceFilter(
        choices=Activity.Status.choices, label=_("Status"), distinct=False
    )
    past_its_end = django_filters.BooleanFilter(
        label=_("Status not confirmed since its dates ended"), method="filter_past_its_end"
    )
    period_from = django_filters.DateFilter(label=_("Active on or after"), method="filter_from")
    period_to = django_filters.DateFilter(label=_("Active on or before"), method="filter_to")
    ids = KeysFilter(label=_("Chosen activities"))
    start_year = django_filters.NumberFilter(
        label=_("Starting in year"),
        method="filter_start_year",
        min_value=1900,
        max_value=2200,
        max_digits=4,
        decimal_places=0,
    )

    class Meta:
        model = Activity
        fields = [
            "q",
            "state",
            "region",
            "provider",
            "funder",
            "programme",
            "thematic_area",
            "instrument",
            "modality",
            "status",
            "past_its_end",
            "period_from",
            "period_to",
            "start_year",
            "ids",
        ]

    def filter_past_its_end(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        condition = past_its_end_q(timezone.localdate())
        return queryset.filter(condition) if value else queryset.exclude(condition)

    def filter_text(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Q(title__icontains=value) | Q(description__icontains=value))

    def filter_state(self, queryset, name, value):
        if empty(value):
            return queryset
        # The reach counts an activity for a region ("countries in Central America") for its States.
        return queryset.filter(pk__in=ActivityReach.objects.filter(state__in=value).values("activity_id"))

    def filter_region(self, queryset, name, value):
        if empty(value):
            return queryset
        states = states_within(value)
        return queryset.filter(pk__in=ActivityReach.objects.filter(state__in=states).values("activity_id"))

    def filter_provider(self, queryset, name, value):
        if empty(value):
            return queryset
        roles = ActivityProvider.objects.filter(organization_id__in=_with_units(value))
        return queryset.filter(pk__in=roles.values("activity_id"))

    def filter_funder(self, queryset, name, value):
        if empty(value):
            return queryset
        roles = ActivityProvider.objects.filter(organization__in=value, role=ActivityProvider.Role.FUNDING)
        return queryset.filter(pk__in=roles.values("activity_id"))

    def filter_programme(self, queryset, name, value):
        if empty(value):
            return queryset
        return queryset.filter(Q(programme=value) | Q(programme__parent=value))

    def filter_m2m(self, queryset, name, value):
        if empty(value):
            return queryset
        through = getattr(Activity, name).through
        target = {"thematic_areas": "thematicarea", "instruments": "instrument"}[name]
        return queryset.filter(
            pk__in=through.objects.filter(**{f"{target}__in": value}).values("activity_id")
        )

    def filter_from(self, queryset, name, value):
        # Overlapping the period: still going on (or open-ended) on or after the first day.
        return queryset.filter(
            Q(period_end__gte=value) | Q(period_end__isnull=True, period_start__isnull=False)
        )

    def filter_to(self, queryset, name, value):
        return queryset.filter(period_start__lte=value)

    def filter_start_year(self, queryset, name, value):
        # The year the activity starts (actual, else planned), as the charts count it.
        return queryset if value is None else queryset.filter(period_start__year=int(value))


class ProgrammeFilterSet(FilterSet):
    q = django_filters.CharFilter(field_name="title", lookup_expr="icontains", label=_("Title"))
    organization = django_filters.ModelChoiceFilter(
        queryset=visible_organizations, to_field_name="code", label=_("Managed by")
    )

    class Meta:
        model = Programme
        fields = ["q", "organization"]


class RequestFilterSet(FilterSet):
    q = django_filters.CharFilter(label=_("Words"), method="filter_text")
    state = django_filters.ModelMultipleChoiceFilter(
        queryset=State.objects.all(), to_field_name="code", label=_("Requesting State")
    )
    region = django_filters.ModelMultipleChoiceFilter(
        queryset=Region.objects.order_by("name"),
        to_field_name="m49",
        label=_("Region or sub-region (M49)"),
        method="filter_region",
    )
    status = django_filters.MultipleChoiceFilter(
        choices=Request.Status.choices, label=_("Status"), distinct=False
    )
    channel = django_filters.ChoiceFilter(choices=Request.Channel.choices, label=_("Channel"))
    thematic_area = django_filters.ModelMultipleChoiceFilter(
        queryset=ThematicArea.objects.all(),
        to_field_name="code",
        field_name="thematic_areas",
        label=_("Thematic area"),
    )
    provider = django_filters.ModelChoiceFilter(
        queryset=visible_organizations,
        to_field_name="code",
        label=_("Referred to"),
        field_name="referrals__provider",
        distinct=True,
    )
    received_from = django_filters.DateFilter(
        field_name="received", lookup_expr="gte", label=_("Received on or after")
    )
    received_to = django_filters.DateFilter(
        field_name="received", lookup_expr="lte", label=_("Received on or before")
    )
    unanswered = django_filters.BooleanFilter(
        method="filter_unanswered", label=_("Unanswered (no answering activity in time)")
    )

    class Meta:
        model = Request
        fields = [
            "q",
            "state",
            "region",
            "status",
            "channel",
            "thematic_area",
            "provider",
            "received_from",
            "received_to",
            "unanswered",
        ]

    def filter_text(self, queryset, name, value):
        return queryset.filter(Q(title__icontains=value) | Q(description__icontains=value))

    def filter_region(self, queryset, name, value):
        if empty(value):
            return queryset
        return queryset.filter(state__in=states_within(value))

    def filter_unanswered(self, queryset, name, value):
        if "unanswered" not in queryset.query.annotations:
            queryset = queryset.with_answer_state(self.request.user if self.request else None)
        return queryset.filter(unanswered=value)
