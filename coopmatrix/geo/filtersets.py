import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from coopmatrix.core.filters import FilterSet

from .models import Region, State, StateAlias
from .resolver import normalize


def state_text_matches(text: str) -> Q:
    """A State whose English name holds the words, whose code is them, or one of whose names in
    any language (aliases, normalized) holds them.

    The aliases are matched in a subquery rather than a join: a join ORed with the State's own
    columns multiplies rows and, on PostgreSQL tables not yet analyzed, was planned as a nested
    loop that took 14 s."""
    aliases = StateAlias.objects.filter(normalized__contains=normalize(text)).values("state_id")
    return Q(name_en__icontains=text) | Q(code__iexact=text) | Q(iso2__iexact=text) | Q(pk__in=aliases)


class RegionChoiceFilter(django_filters.ModelChoiceFilter):
    """A region chosen by its M49 code (?region=142), as URLs and the API write it."""

    def __init__(self, level: str, **kwargs):
        # By name, as people look for them (the M49 order is a statistician's).
        super().__init__(
            queryset=Region.objects.filter(level=level).order_by("name"), to_field_name="m49", **kwargs
        )


class CurrentOrHistoric(django_filters.widgets.BooleanWidget):
    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = (
            ("", _("Current (default)")),
            ("true", _("Historic only")),
            ("false", _("Current only")),
        )


class StateFilterSet(FilterSet):
    q = django_filters.CharFilter(label=_("Name or code"), method="filter_text")
    region = RegionChoiceFilter(Region.Level.REGION, label=_("Region"))
    subregion = RegionChoiceFilter(Region.Level.SUBREGION, label=_("Sub-region"))
    intermediate_region = RegionChoiceFilter(Region.Level.INTERMEDIATE, label=_("Intermediate region"))
    status = django_filters.MultipleChoiceFilter(choices=State.Status.choices, label=_("Status"))
    historic = django_filters.BooleanFilter(
        label=_("Current or historic"),
        method="filter_historic",
        widget=CurrentOrHistoric(),
        help_text=_("Historic States (Yugoslavia …) are listed only when asked for."),
    )

    class Meta:
        model = State
        fields = ["q", "region", "subregion", "intermediate_region", "status", "historic"]

    def filter_text(self, queryset, name, value):
        return queryset.filter(state_text_matches(value))

    def filter_historic(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(status=State.Status.HISTORIC) if value else queryset.current()

    def filter_queryset(self, queryset):
        # Historic States (Yugoslavia, Serbia and Montenegro …) are listed only when asked for,
        # so that a list of "States" means the States of today.
        data = self.form.cleaned_data
        if data.get("historic") is None and State.Status.HISTORIC not in (data.get("status") or []):
            queryset = queryset.current()
        return super().filter_queryset(queryset)


class RegionFilterSet(FilterSet):
    level = django_filters.ChoiceFilter(choices=Region.Level.choices, label=_("Level"))
    parent = django_filters.ModelChoiceFilter(
        queryset=Region.objects.order_by("name"), to_field_name="m49", label=_("Within")
    )

    class Meta:
        model = Region
        fields = ["level", "parent"]
