import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from coopmatrix.core.filters import FilterSet

from .models import Instrument


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
