import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from coopmatrix.core.filters import FilterSet
from coopmatrix.core.models import Confidentiality
from coopmatrix.geo.models import State

from .models import Membership, Organization


def visible_organizations(request):
    """Choices in a filter are records too: only those the user may see are offered.

    Built once per request (several filters offer organizations; the rule is the same)."""
    if request is None:
        return Organization.objects.visible_to(None)
    cached = getattr(request, "_visible_organizations", None)
    if cached is None:
        cached = request._visible_organizations = Organization.objects.visible_to(request.user)
    return cached.all()


class OrganizationFilterSet(FilterSet):
    q = django_filters.CharFilter(label=_("Name or acronym"), method="filter_text")
    kind = django_filters.MultipleChoiceFilter(choices=Organization.Kind.choices, label=_("Kind"))
    parent = django_filters.ModelChoiceFilter(
        queryset=visible_organizations, to_field_name="code", label=_("Part of (code)")
    )
    member = django_filters.ModelChoiceFilter(
        queryset=State.objects.all(),
        to_field_name="code",
        label=_("Has member State (code)"),
        method="filter_member",
    )
    confidentiality = django_filters.ChoiceFilter(choices=Confidentiality.choices, label=_("Confidentiality"))

    class Meta:
        model = Organization
        fields = ["q", "kind", "parent", "member", "confidentiality"]

    def filter_text(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(acronym__icontains=value) | Q(code__iexact=value))

    def filter_member(self, queryset, name, value):
        # Counts only memberships the user may see: a confidential membership stays hidden here too.
        visible = Membership.objects.visible_to(self.request.user if self.request else None)
        return queryset.filter(pk__in=visible.filter(state=value).values("organization_id"))


class MembershipFilterSet(FilterSet):
    organization = django_filters.ModelChoiceFilter(
        queryset=visible_organizations, to_field_name="code", label=_("Organization (code)")
    )
    state = django_filters.ModelChoiceFilter(
        queryset=State.objects.all(), to_field_name="code", label=_("State (code)")
    )
    kind = django_filters.ChoiceFilter(choices=Membership.Kind.choices, label=_("Kind"))
    as_at = django_filters.DateFilter(label=_("Member on (date)"), method="filter_as_at")

    class Meta:
        model = Membership
        fields = ["organization", "state", "kind", "as_at"]

    def filter_as_at(self, queryset, name, value):
        return queryset.as_at(value)
