import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from coopmatrix.core.filters import FilterSet, empty
from coopmatrix.geo.models import Region, State

from .models import Instrument, TreatyAction


class InstrumentFilterSet(FilterSet):
    q = django_filters.CharFilter(label=_("Title or code"), method="filter_text")
    in_table2 = django_filters.BooleanFilter(
        label=_("One of the 12 instruments of 2004"),
        field_name="table2_order",
        lookup_expr="isnull",
        exclude=True,
    )
    adopted_after = django_filters.DateFilter(
        field_name="adopted", lookup_expr="gte", label=_("Adopted on or after")
    )
    adopted_before = django_filters.DateFilter(
        field_name="adopted", lookup_expr="lte", label=_("Adopted on or before")
    )
    depositary = django_filters.CharFilter(lookup_expr="icontains", label=_("Depositary"))

    class Meta:
        model = Instrument
        fields = ["q", "in_table2", "adopted_after", "adopted_before", "depositary"]

    def filter_text(self, queryset, name, value):
        return queryset.filter(
            Q(title__icontains=value) | Q(short_title__icontains=value) | Q(code__iexact=value)
        )


def _visible_instruments(request):
    # Options are records too: a confidential instrument is not named to those who may not see it.
    return Instrument.objects.visible_to(request.user if request else None)


class TreatyActionFilterSet(FilterSet):
    state = django_filters.ModelMultipleChoiceFilter(
        queryset=State.objects.all(), to_field_name="code", label=_("State")
    )
    region = django_filters.ModelMultipleChoiceFilter(
        queryset=Region.objects.order_by("name"),
        to_field_name="m49",
        label=_("Region or sub-region (M49)"),
        method="filter_region",
    )
    instrument = django_filters.ModelMultipleChoiceFilter(
        queryset=_visible_instruments, to_field_name="code", label=_("Instrument")
    )
    action = django_filters.MultipleChoiceFilter(
        choices=TreatyAction.Action.choices, label=_("Action"), distinct=False
    )
    date_from = django_filters.DateFilter(
        field_name="deposited", lookup_expr="gte", label=_("Deposited on or after")
    )
    date_to = django_filters.DateFilter(
        field_name="deposited", lookup_expr="lte", label=_("Deposited on or before")
    )
    q = django_filters.CharFilter(label=_("Words in the text or source"), method="filter_text")

    class Meta:
        model = TreatyAction
        fields = ["state", "region", "instrument", "action", "date_from", "date_to", "q"]

    def filter_region(self, queryset, name, value):
        if empty(value):
            return queryset
        states = State.objects.none()
        for region in value:
            states = states | region.states()
        return queryset.filter(state__in=states)

    def filter_text(self, queryset, name, value):
        return queryset.filter(Q(text__icontains=value) | Q(source__icontains=value))
