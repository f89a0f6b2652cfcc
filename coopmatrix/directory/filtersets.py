import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from coopmatrix.core.filters import FilterSet
from coopmatrix.core.models import Confidentiality
from coopmatrix.geo.models import State

from .models import Contact, Membership, Organization, with_units


def visible_organizations(request):
    """Choices in a filter are records too: only those the user may see are offered.

    Built once per request (several filters offer organizations; the rule is the same)."""
    if request is None:
        return Organization.objects.visible_to(None)
    cached = getattr(request, "_visible_organizations", None)
    if cached is None:
        cached = request._visible_organizations = Organization.objects.visible_to(request.user)
    return cached.all()


def visible_organization_rows(request) -> list[tuple[int, str, str, str]]:
    """(pk, code, name, acronym) of the organizations the user may see, read once per request:
    a matrix page needs them for two filters and to name the providers of its rows."""
    if request is None:
        return list(Organization.objects.visible_to(None).values_list("pk", "code", "name", "acronym"))
    cached = getattr(request, "_visible_organization_rows", None)
    if cached is None:
        cached = request._visible_organization_rows = list(
            Organization.objects.visible_to(request.user).values_list("pk", "code", "name", "acronym")
        )
    return cached


def visible_organization_ids(request) -> set[int]:
    return {pk for pk, *_ in visible_organization_rows(request)}


def organization_options(request) -> list[tuple[str, str]]:
    rows = visible_organization_rows(request)
    return [(code, Organization.option_label(name, acronym)) for _, code, name, acronym in rows]


class OrganizationOptions:
    """Filters offering organizations (named in `organization_filters`) list them from the rows
    read once per request rather than one query each."""

    organization_filters: tuple[str, ...] = ()

    def option_rows(self, name: str):
        if name in self.organization_filters and self.request is not None:  # type: ignore[attr-defined]
            request = self.request  # type: ignore[attr-defined]
            return lambda: organization_options(request)
        return super().option_rows(name)  # type: ignore[misc]


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


def _valid_language(value: str) -> None:
    from django.core.exceptions import ValidationError

    from .contacts import language_codes

    try:
        language_codes(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc


def _roles(request):
    from .models import ContactRole

    return ContactRole.objects.all()


class ContactFilterSet(OrganizationOptions, FilterSet):
    organization_filters = ("organization",)

    q = django_filters.CharFilter(label=_("Name, function or e-mail"), method="filter_text")
    organization = django_filters.ModelChoiceFilter(
        queryset=visible_organizations,
        to_field_name="code",
        label=_("Organization"),
        method="filter_organization",
    )
    state = django_filters.ModelChoiceFilter(
        queryset=State.objects.all(), to_field_name="code", label=_("State")
    )
    role = django_filters.ModelMultipleChoiceFilter(
        queryset=_roles, to_field_name="code", field_name="roles", label=_("Role"), distinct=True
    )
    language = django_filters.CharFilter(
        label=_("Speaks (ISO 639 code)"), method="filter_language", validators=[_valid_language]
    )
    stale = django_filters.ChoiceFilter(
        choices=[("yes", _("not verified within the limit")), ("no", _("verified recently"))],
        label=_("Verification"),
        method="filter_stale",
    )
    valid_on = django_filters.DateFilter(label=_("In use on (date)"), method="filter_valid_on")
    confidentiality = django_filters.ChoiceFilter(choices=Confidentiality.choices, label=_("Confidentiality"))

    class Meta:
        model = Contact
        fields = ["q", "organization", "state", "role", "language", "stale", "valid_on", "confidentiality"]

    def filter_valid_on(self, queryset, name, value):
        return queryset.valid_on(value)

    def filter_text(self, queryset, name, value):
        from .contacts import normalize_name

        words = normalize_name(value)
        return queryset.filter(
            Q(person_name__icontains=value)
            | Q(function__icontains=value)
            | Q(email__icontains=value)
            | (Q(normalized_name__contains=words) if words else Q(pk__in=[]))
            | Q(organization__name__icontains=value)
            | Q(organization__acronym__iexact=value)
        )

    def filter_organization(self, queryset, name, value):
        # An organization's directory includes its units' (the TPB is part of UNODC's).
        return queryset.filter(organization_id__in=with_units([value.pk]))

    def filter_language(self, queryset, name, value):
        from .contacts import language_codes

        for code in language_codes(value).split():
            queryset = queryset.filter(languages__regex=rf"(^| ){code}( |$)")
        return queryset

    def filter_stale(self, queryset, name, value):
        return queryset.stale() if value == "yes" else queryset.fresh()
