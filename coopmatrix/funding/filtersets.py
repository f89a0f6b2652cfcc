import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from coopmatrix.core.filters import FilterSet, empty
from coopmatrix.directory.models import Organization
from coopmatrix.geo.models import State
from coopmatrix.matrix.models import Programme

from .models import Contribution, ExchangeRate, Fund, FundingNeed
from .table1 import programme_and_projects


def _visible(model):
    # Options are records too: a hidden fund, programme or organization is not offered.
    return lambda request: model.objects.visible_to(request.user if request else None)


class ContributionFilterSet(FilterSet):
    donor_state = django_filters.ModelMultipleChoiceFilter(
        queryset=State.objects.all(), to_field_name="code", label=_("Donor State")
    )
    donor_organization = django_filters.ModelMultipleChoiceFilter(
        queryset=_visible(Organization), to_field_name="code", label=_("Donor organization")
    )
    fund = django_filters.ModelMultipleChoiceFilter(
        queryset=_visible(Fund), to_field_name="code", label=_("Fund")
    )
    programme = django_filters.ModelMultipleChoiceFilter(
        queryset=_visible(Programme),
        to_field_name="code",
        label=_("Programme or project (with its projects and their activities)"),
        method="filter_programme",
    )
    kind = django_filters.MultipleChoiceFilter(choices=Contribution.Kind.choices, label=_("Kind"))
    earmarking = django_filters.MultipleChoiceFilter(
        choices=Contribution.Earmarking.choices, label=_("Earmarking")
    )
    currency = django_filters.CharFilter(label=_("Currency (ISO 4217)"), method="filter_currency")
    date_from = django_filters.DateFilter(field_name="date", lookup_expr="gte", label=_("Dated on or after"))
    date_to = django_filters.DateFilter(field_name="date", lookup_expr="lte", label=_("Dated on or before"))
    fiscal_year = django_filters.NumberFilter(label=_("Fiscal year"))
    q = django_filters.CharFilter(label=_("Words in the note or source"), method="filter_text")

    class Meta:
        model = Contribution
        fields = [
            "donor_state",
            "donor_organization",
            "fund",
            "programme",
            "kind",
            "earmarking",
            "currency",
            "date_from",
            "date_to",
            "fiscal_year",
            "q",
        ]

    def filter_currency(self, queryset, name, value):
        return queryset.filter(currency=value.strip().upper())

    def filter_programme(self, queryset, name, value):
        # As the funding gap and Table 1 count a programme: with its projects and their activities.
        if empty(value):
            return queryset
        programmes = {pk for programme in value for pk in programme_and_projects(programme)}
        return queryset.filter(Q(programme_id__in=programmes) | Q(activity__programme_id__in=programmes))

    def filter_text(self, queryset, name, value):
        return queryset.filter(Q(note__icontains=value) | Q(source__icontains=value))


class FundFilterSet(FilterSet):
    q = django_filters.CharFilter(label=_("Name or code"), method="filter_text")
    managed_by = django_filters.ModelMultipleChoiceFilter(
        queryset=_visible(Organization), to_field_name="code", label=_("Managed by")
    )

    class Meta:
        model = Fund
        fields = ["q", "managed_by"]

    def filter_text(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(code__iexact=value))


class FundingNeedFilterSet(FilterSet):
    programme = django_filters.ModelMultipleChoiceFilter(
        queryset=_visible(Programme), to_field_name="code", label=_("Programme or project")
    )
    q = django_filters.CharFilter(label=_("Words in the description or source"), method="filter_text")

    class Meta:
        model = FundingNeed
        fields = ["programme", "q"]

    def filter_text(self, queryset, name, value):
        return queryset.filter(Q(description__icontains=value) | Q(source__icontains=value))


class ExchangeRateFilterSet(FilterSet):
    currency = django_filters.CharFilter(label=_("Currency (ISO 4217)"), method="filter_currency")
    date_from = django_filters.DateFilter(
        field_name="date", lookup_expr="gte", label=_("Valid from on or after")
    )
    date_to = django_filters.DateFilter(
        field_name="date", lookup_expr="lte", label=_("Valid from on or before")
    )

    class Meta:
        model = ExchangeRate
        fields = ["currency", "date_from", "date_to"]

    def filter_currency(self, queryset, name, value):
        return queryset.filter(currency=value.strip().upper())
