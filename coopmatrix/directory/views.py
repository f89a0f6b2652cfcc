from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from coopmatrix.core.views import RecordDetailView, RecordExportView, RecordListView

from .filtersets import MembershipFilterSet, OrganizationFilterSet
from .models import Membership, Organization
from .tables import MembershipTable, OrganizationTable

ORGANIZATION_COLUMNS = [
    ("code", lambda o: o.code),
    ("acronym", lambda o: o.acronym),
    ("name", lambda o: o.name),
    ("kind", lambda o: o.kind),
    ("state", lambda o: o.state.code if o.state else ""),
    ("headquarters", lambda o: o.headquarters.code if o.headquarters else ""),
    ("headquarters_city", lambda o: o.headquarters_city),
    ("confidentiality", lambda o: o.confidentiality),
    ("source", lambda o: o.source),
]
MEMBERSHIP_COLUMNS = [
    ("organization", lambda m: m.organization.code),
    ("state", lambda m: m.state.code),
    ("kind", lambda m: m.kind),
    ("joined", lambda m: m.joined_display),
    ("left", lambda m: m.left_display),
    ("note", lambda m: m.note),
    ("confidentiality", lambda m: m.confidentiality),
    ("source", lambda m: m.source),
]


def visible_organization_ids(request: HttpRequest) -> set[int]:
    return set(Organization.objects.visible_to(request.user).values_list("pk", flat=True))


class OrganizationListView(RecordListView):
    model = Organization
    related = ("parent", "state", "headquarters")
    filterset_class = OrganizationFilterSet
    table_class = OrganizationTable
    title = _("Organizations")
    export_url_name = "directory:organization_export"

    def get_table(self, request, records):
        return self.table_class(records, visible_ids=visible_organization_ids(request))


class OrganizationExportView(RecordExportView):
    model = Organization
    related = ("parent", "state", "headquarters")
    filterset_class = OrganizationFilterSet
    columns = ORGANIZATION_COLUMNS
    filename = "organizations"

    def get_columns(self, request):
        visible = visible_organization_ids(request)
        parent = ("parent", lambda o: o.parent.code if o.parent_id in visible else "")
        return [*self.columns[:4], parent, *self.columns[4:]]


class OrganizationDetailView(RecordDetailView):
    model = Organization
    lookup_field = "code"
    template_name = "directory/organization_detail.html"

    def get_context(self, request: HttpRequest, obj: Any) -> dict[str, Any]:
        memberships = (
            Membership.objects.visible_to(request.user).filter(organization=obj).select_related("state")
        )
        as_at = request.GET.get("as_at")
        return {
            "memberships": memberships.order_by("state__name_en"),
            "current_members": memberships.as_at(timezone.localdate()).count(),
            "units": Organization.objects.visible_to(request.user).filter(parent=obj),
            "parent": Organization.objects.visible_to(request.user).filter(pk=obj.parent_id).first(),
            "as_at": as_at,
        }


class MembershipListView(RecordListView):
    model = Membership
    related = ("organization", "state")
    filterset_class = MembershipFilterSet
    table_class = MembershipTable
    title = _("Memberships")
    export_url_name = "directory:membership_export"


class MembershipExportView(RecordExportView):
    model = Membership
    related = ("organization", "state")
    filterset_class = MembershipFilterSet
    columns = MEMBERSHIP_COLUMNS
    filename = "memberships"


class MembershipDetailView(RecordDetailView):
    model = Membership
    related = ("organization", "state")
    template_name = "directory/membership_detail.html"
