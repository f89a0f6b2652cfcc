from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema
from ninja.pagination import PageNumberPagination, paginate

from coopmatrix.core.api import filtered, visible

from .filtersets import MembershipFilterSet, OrganizationFilterSet
from .models import Membership, Organization

router = Router(tags=["Organizations"])


class OrganizationOut(Schema):
    code: str
    name: str
    acronym: str
    kind: str
    parent: str | None
    state: str | None
    headquarters: str | None
    headquarters_city: str
    confidentiality: str
    source: str

    @staticmethod
    def resolve_parent(obj: Organization, context) -> str | None:
        # The parent is named only to those who may see it.
        allowed = context["request"].visible_organization_ids
        return obj.parent.code if obj.parent_id in allowed else None

    @staticmethod
    def resolve_state(obj: Organization) -> str | None:
        return obj.state.code if obj.state_id else None

    @staticmethod
    def resolve_headquarters(obj: Organization) -> str | None:
        return obj.headquarters.code if obj.headquarters_id else None


class MembershipOut(Schema):
    id: int
    organization: str
    state: str
    kind: str
    joined: str
    left: str
    note: str
    confidentiality: str
    source: str

    @staticmethod
    def resolve_organization(obj: Membership) -> str:
        return obj.organization.code

    @staticmethod
    def resolve_state(obj: Membership) -> str:
        return obj.state.code

    @staticmethod
    def resolve_joined(obj: Membership) -> str:
        return obj.joined_display

    @staticmethod
    def resolve_left(obj: Membership) -> str:
        return obj.left_display


def _organizations(request: HttpRequest):
    request.visible_organization_ids = set(visible(request, Organization).values_list("pk", flat=True))
    return visible(request, Organization).select_related("parent", "state", "headquarters")


@router.get("/organizations", response=list[OrganizationOut])
@paginate(PageNumberPagination, page_size=100)
def list_organizations(
    request: HttpRequest,
    q: str = "",
    kind: str | None = None,
    parent: str | None = None,
    member: str | None = None,
    confidentiality: str | None = None,
):
    return filtered(request, OrganizationFilterSet, _organizations(request))


@router.get("/organizations/{code}", response=OrganizationOut)
def get_organization(request: HttpRequest, code: str):
    return get_object_or_404(_organizations(request), code=code)


def _memberships(request: HttpRequest):
    return visible(request, Membership).select_related("organization", "state")


@router.get("/memberships", response=list[MembershipOut])
@paginate(PageNumberPagination, page_size=100)
def list_memberships(
    request: HttpRequest,
    organization: str | None = None,
    state: str | None = None,
    kind: str | None = None,
    as_at: str | None = None,
):
    """as_at (YYYY-MM-DD): memberships in effect on that day."""
    return filtered(request, MembershipFilterSet, _memberships(request))


@router.get("/memberships/{membership_id}", response=MembershipOut)
def get_membership(request: HttpRequest, membership_id: int):
    return get_object_or_404(_memberships(request), pk=membership_id)
