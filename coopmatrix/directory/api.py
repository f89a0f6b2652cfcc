import datetime as dt

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status
from ninja.pagination import paginate

from coopmatrix.core.api import Key, PageNumberPagination, filtered, visible

from . import contacts
from .filtersets import ContactFilterSet, MembershipFilterSet, OrganizationFilterSet
from .models import Contact, Membership, Organization

router = Router(tags=["Organizations"])


class FormerNameOut(Schema):
    name: str
    acronym: str
    used_from: str
    used_until: str
    source: str

    @staticmethod
    def resolve_used_from(obj) -> str:
        return obj.used_from_display

    @staticmethod
    def resolve_used_until(obj) -> str:
        return obj.used_until_display


class MeetingOut(Schema):
    meeting: str
    role: str
    source: str


class OrganizationOut(Schema):
    code: str
    name: str
    acronym: str
    former_names: list[FormerNameOut]
    kind: str
    parent: str | None
    state: str | None
    headquarters: str | None
    headquarters_city: str
    website: str
    mandate: str
    thematic_areas: list[str]
    meetings: list[MeetingOut]
    confidentiality: str
    source: str

    @staticmethod
    def resolve_former_names(obj: Organization) -> list:
        return list(obj.former_names.all())

    @staticmethod
    def resolve_thematic_areas(obj: Organization) -> list[str]:
        return [a.code for a in obj.thematic_areas.all()]

    @staticmethod
    def resolve_meetings(obj: Organization) -> list:
        return list(obj.meetings.all())

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
    return (
        visible(request, Organization)
        .select_related("parent", "state", "headquarters")
        .prefetch_related("former_names", "thematic_areas", "meetings")
    )


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
def get_membership(request: HttpRequest, membership_id: Key):
    return get_object_or_404(_memberships(request), pk=membership_id)


# --- Contacts ---------------------------------------------------------------------------------


class ContactIn(Schema):
    person_name: str = ""
    function: str = ""
    organization: str | None = None
    state: str | None = None
    roles: list[str] = []
    email: str = ""
    telephone: str = ""
    fax: str = ""
    postal_address: str = ""
    secure_channel_notes: str = ""
    languages: str = ""
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    verified_on: dt.date | None = None
    confidentiality: str = "restricted"
    source: str = ""
    #: A new entry that matches one already kept is refused (409) unless the caller merges it
    #: into that entry or says it is another person.
    merge_into: Key | None = None
    another_person: bool = False


class ContactOut(Schema):
    id: int
    person_name: str
    function: str
    organization: str | None
    state: str | None
    roles: list[str]
    email: str
    telephone: str
    fax: str
    postal_address: str
    secure_channel_notes: str
    languages: list[str]
    valid_from: dt.date | None
    valid_to: dt.date | None
    verified_on: dt.date | None
    verified_by: str
    stale: bool
    erased_on: dt.date | None
    confidentiality: str
    source: str

    @staticmethod
    def resolve_organization(obj: Contact, context) -> str | None:
        allowed = context["request"].visible_organization_ids
        return obj.organization.code if obj.organization_id in allowed else None

    @staticmethod
    def resolve_state(obj: Contact) -> str | None:
        return obj.state.code if obj.state_id else None

    @staticmethod
    def resolve_roles(obj: Contact) -> list[str]:
        return [r.code for r in obj.roles.all()]

    @staticmethod
    def resolve_languages(obj: Contact) -> list[str]:
        return obj.language_list

    @staticmethod
    def resolve_stale(obj: Contact) -> bool:
        return obj.is_stale


def _contacts(request: HttpRequest):
    request.visible_organization_ids = set(visible(request, Organization).values_list("pk", flat=True))
    return visible(request, Contact).select_related("organization", "state").prefetch_related("roles")


@router.get("/contacts", response=list[ContactOut], tags=["Contacts"])
@paginate(PageNumberPagination, page_size=100)
def list_contacts(
    request: HttpRequest,
    q: str = "",
    organization: str | None = None,
    state: str | None = None,
    role: str | None = None,
    language: str | None = None,
    stale: str | None = None,
    valid_on: dt.date | None = None,
    confidentiality: str | None = None,
):
    """The same filters as the page: q (name, function, e-mail), organization (with its units),
    state, role (repeatable), language (ISO 639), stale (yes/no), valid_on (in use that day),
    confidentiality."""
    return filtered(request, ContactFilterSet, _contacts(request))


@router.get("/contacts/{contact_id}", response=ContactOut, tags=["Contacts"])
def get_contact(request: HttpRequest, contact_id: Key):
    return get_object_or_404(_contacts(request), pk=contact_id)


def _save_contact(request: HttpRequest, payload: ContactIn, record: Contact | None = None) -> Contact:
    data = payload.dict()
    merge_into = None
    if data.pop("merge_into", None):
        merge_into = get_object_or_404(visible(request, Contact), pk=payload.merge_into)
    another = data.pop("another_person", False)
    return contacts.save(request.user, data, record, merge_into=merge_into, allow_duplicate=another)


@router.post("/contacts", response={201: ContactOut, 409: dict}, tags=["Contacts"])
def create_contact(request: HttpRequest, payload: ContactIn):
    try:
        record = _save_contact(request, payload)
    except contacts.Duplicate as duplicate:
        return Status(409, _duplicate(duplicate))
    return Status(201, _contacts(request).get(pk=record.pk))


def _duplicate(duplicate: contacts.Duplicate) -> dict:
    return {
        "detail": "this entry matches entries already kept: merge a new one into one of them "
        "(merge_into) or say it is another person (another_person: true)",
        "matches": [c.pk for c in duplicate.matches],
    }


@router.put("/contacts/{contact_id}", response={200: ContactOut, 409: dict}, tags=["Contacts"])
def update_contact(request: HttpRequest, contact_id: Key, payload: ContactIn):
    record = get_object_or_404(visible(request, Contact), pk=contact_id)
    try:
        _save_contact(request, payload, record)
    except contacts.Duplicate as duplicate:
        return Status(409, _duplicate(duplicate))
    return _contacts(request).get(pk=record.pk)


@router.delete("/contacts/{contact_id}", response={204: None}, tags=["Contacts"])
def delete_contact(request: HttpRequest, contact_id: Key):
    contacts.delete(request.user, get_object_or_404(visible(request, Contact), pk=contact_id))
    return Status(204, None)
