from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from coopmatrix.core.errors import Invalid
from coopmatrix.core.exports import csv_response, describe_filters, xlsx_response
from coopmatrix.core.imports import import_page
from coopmatrix.core.roles import principal_for
from coopmatrix.core.views import RecordDetailView, RecordExportView, RecordListView, record_to_change

from . import contacts, exporters, importers, verification
from .exporters import CONTACT_COLUMNS, EXTRA_COLUMNS
from .filtersets import (
    ContactFilterSet,
    MembershipFilterSet,
    OrganizationFilterSet,
    visible_organization_ids,
)
from .forms import ContactForm, CorrectionForm, SendVerificationForm
from .importers import MEMBERSHIP_COLUMNS as IMPORT_MEMBERSHIP_COLUMNS
from .importers import ORGANIZATION_COLUMNS as IMPORT_ORGANIZATION_COLUMNS
from .models import Contact, ContactExport, Correction, Membership, Organization
from .tables import ContactTable, MembershipTable, OrganizationTable

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# The importer's columns, in its order, so that an export imports back unchanged ("parent" is
# filled per reader: a parent the reader may not see is left blank).
_ORGANIZATION_GETTERS = {
    "code": lambda o: o.code,
    "name": lambda o: o.name,
    "acronym": lambda o: o.acronym,
    "kind": lambda o: o.kind,
    "parent": lambda o: "",
    "state": lambda o: o.state.code if o.state else "",
    "headquarters": lambda o: o.headquarters.code if o.headquarters else "",
    "headquarters_city": lambda o: o.headquarters_city,
    "website": lambda o: o.website,
    "mandate": lambda o: o.mandate,
    "thematic_areas": lambda o: "; ".join(a.code for a in o.thematic_areas.all()),
    "confidentiality": lambda o: o.confidentiality,
    "source": lambda o: o.source,
}
ORGANIZATION_COLUMNS = [(name, _ORGANIZATION_GETTERS[name]) for name, _ in IMPORT_ORGANIZATION_COLUMNS]
_MEMBERSHIP_GETTERS = {
    "organization": lambda m: m.organization.code,
    "state": lambda m: m.state.code,
    "kind": lambda m: m.kind,
    "joined": lambda m: m.joined_display,
    "left": lambda m: m.left_display,
    "note": lambda m: m.note,
    "confidentiality": lambda m: m.confidentiality,
    "source": lambda m: m.source,
}
MEMBERSHIP_COLUMNS = [(name, _MEMBERSHIP_GETTERS[name]) for name, _ in IMPORT_MEMBERSHIP_COLUMNS]


class OrganizationListView(RecordListView):
    model = Organization
    related = ("parent", "state", "headquarters")
    filterset_class = OrganizationFilterSet
    table_class = OrganizationTable
    title = _("Organizations")
    empty_text = _(
        "This list holds the organizations that give, fund "
        "or receive assistance, with their kind and members."
    )
    import_url_name = "directory:import"
    import_allowed = "coopmatrix.directory.importers:may_import"
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
        return [parent if name == "parent" else (name, getter) for name, getter in self.columns]

    def rows(self, request, records):
        return records.prefetch_related("thematic_areas").iterator(chunk_size=2000)


class OrganizationDetailView(RecordDetailView):
    model = Organization
    lookup_field = "code"
    template_name = "directory/organization_detail.html"

    def get_context(self, request: HttpRequest, obj: Any) -> dict[str, Any]:
        memberships = (
            Membership.objects.visible_to(request.user).filter(organization=obj).select_related("state")
        )
        as_at = _as_at(request)
        shown = memberships.as_at(as_at) if as_at else memberships
        return {
            "memberships": shown.order_by("state__name_en"),
            "current_members": memberships.as_at(timezone.localdate()).count(),
            "units": Organization.objects.visible_to(request.user).filter(parent=obj),
            "parent": Organization.objects.visible_to(request.user).filter(pk=obj.parent_id).first(),
            "as_at": as_at,
            "former_names": obj.former_names.all(),
            "meetings": obj.meetings.all(),
            "thematic_areas": obj.thematic_areas.all(),
            "contacts": _with_roles(Contact.objects.visible_to(request.user).filter(organization=obj)),
            "secretariat": principal_for(request.user).sees_everything,
            "send_form": SendVerificationForm(),
            "visible_ids": visible_organization_ids(request),
        }


def _as_at(request: HttpRequest):
    """The ?as_at= date of a page, or None when absent or not a date (the page then says so)."""
    import datetime as dt

    text = request.GET.get("as_at", "").strip()
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


class MembershipListView(RecordListView):
    model = Membership
    related = ("organization", "state")
    filterset_class = MembershipFilterSet
    table_class = MembershipTable
    title = _("Memberships")
    empty_text = _("This list holds which State is a member of which organization, and since when.")
    import_url_name = "directory:import"
    import_allowed = "coopmatrix.directory.importers:may_import"
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


# --- Contacts --------------------------------------------------------------------------------

CONTACT_RELATED = ("organization", "state")


def _with_roles(records):
    return records.prefetch_related("roles")


class ContactListView(RecordListView):
    model = Contact
    related = CONTACT_RELATED
    filterset_class = ContactFilterSet
    table_class = ContactTable
    title = _("List of contacts")
    empty_text = _(
        "This list holds the focal points, central authorities "
        "and other offices to contact, by State and organization."
    )
    import_url_name = "directory:import"
    import_allowed = "coopmatrix.directory.importers:may_import"
    export_url_name = "directory:contact_export"
    create_url_name = "directory:contact_create"
    create_label = _("Record a contact")
    template_name = "directory/contact_list.html"

    def visible(self, request):
        return _with_roles(super().visible(request))

    def get_table(self, request, records):
        return self.table_class(records, visible_ids=visible_organization_ids(request))

    def extra_context(self, request):
        return {
            "secretariat": principal_for(request.user).sees_everything,
            "may_import": importers.may_import(request.user),
        }


class ContactDetailView(RecordDetailView):
    model = Contact
    related = CONTACT_RELATED
    template_name = "directory/contact_detail.html"

    def get_context(self, request: HttpRequest, obj: Any) -> dict[str, Any]:
        principal = principal_for(request.user)
        return {
            "organization": Organization.objects.visible_to(request.user)
            .filter(pk=obj.organization_id)
            .first(),
            "may_edit": Contact.objects.editable_by(request.user).filter(pk=obj.pk).exists(),
            "secretariat": principal.sees_everything,
            "verifications": obj.verifications.all() if principal.sees_everything else [],
            "corrections": obj.corrections.all() if principal.sees_everything else [],
            "send_form": SendVerificationForm(initial={"sent_to": obj.email}),
        }


class ContactExportView(RecordExportView):
    """CSV (the import template's columns), XLSX with a cover, vCard or the PDF directory; every
    export of contacts is logged: who, when, which format, which filters, which entries."""

    model = Contact
    related = CONTACT_RELATED
    filterset_class = ContactFilterSet
    filename = "contacts"
    columns = [*CONTACT_COLUMNS, *EXTRA_COLUMNS]

    def visible(self, request):
        return _with_roles(super().visible(request))

    def get(self, request: HttpRequest) -> HttpResponseBase:
        fmt = request.GET.get("format", "csv")
        if fmt not in ("csv", "xlsx", "vcf", "pdf"):
            return HttpResponse("format must be csv, xlsx, vcf or pdf", status=400, content_type="text/plain")
        filterset = self.filterset_class(request.GET, queryset=self.visible(request), request=request)
        if not filterset.is_valid():
            return render(request, "core/filter_errors.html", {"filter": filterset}, status=400)
        query = request.GET.copy()
        query.pop("format", None)
        records = exporters.log(
            request.user, fmt, query.urlencode(), filterset.qs.order_by("organization__name", "pk")
        )
        stamp = timezone.localdate().isoformat()
        columns = self._columns(request)
        if fmt == "csv":
            return csv_response(records, columns, f"contacts-{stamp}.csv")
        if fmt == "xlsx":
            return xlsx_response(request, filterset, columns, "contacts", _("List of contacts"), rows=records)
        if fmt == "vcf":
            response = HttpResponse(exporters.vcards(records), content_type="text/vcard; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="contacts-{stamp}.vcf"'
            return response
        who = request.user.get_username() if request.user.is_authenticated else "public (not signed in)"
        body = exporters.pdf(records, who, describe_filters(filterset), visible_organization_ids(request))
        response = HttpResponse(body, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="contacts-{stamp}.pdf"'
        return response

    def _columns(self, request):
        # The organization is named only to those who may see it, as on the page.
        visible = visible_organization_ids(request)
        organization = ("organization", lambda c: c.organization.code if c.organization_id in visible else "")
        return [organization if name == "organization" else (name, getter) for name, getter in self.columns]


def contact_vcard(request: HttpRequest, key: int) -> HttpResponse:
    record = get_object_or_404(_with_roles(Contact.objects.visible_to(request.user)), pk=key)
    exporters.log(request.user, "vcf", f"id={record.pk}", [record])
    response = HttpResponse(exporters.vcard(record), content_type="text/vcard; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="contact-{record.pk}.vcf"'
    return response


def _contact_form(request: HttpRequest, record: Contact | None) -> HttpResponse:
    """The form; a new entry that matches others offers to merge into one of them instead."""
    status = 200
    matches: list[Contact] = []
    organizations = Organization.objects.visible_to(request.user)
    if request.method == "POST":
        form = ContactForm(request.POST, organizations=organizations)
        if form.is_valid():
            merge_into = None
            if request.POST.get("merge_into"):
                merge_into = get_object_or_404(
                    Contact.objects.visible_to(request.user), pk=request.POST["merge_into"]
                )
            try:
                saved = contacts.save(
                    request.user,
                    form.cleaned_data,
                    record,
                    merge_into=merge_into,
                    allow_duplicate=request.POST.get("another_person") == "yes",
                )
            except Invalid as invalid:
                form.show(invalid)
            except contacts.Duplicate as duplicate:
                matches = duplicate.matches
            else:
                messages.success(request, _("Saved."))
                return redirect(saved.get_absolute_url())
        status = 422
    else:
        form = ContactForm(
            initial=ContactForm.initial_for(record) if record else {}, organizations=organizations
        )
    title = _("Change: %(t)s") % {"t": record} if record else _("Record a contact")
    cancel = record.get_absolute_url() if record else reverse("directory:contact_list")
    return render(
        request,
        "directory/contact_form.html",
        {"form": form, "title": title, "cancel": cancel, "matches": matches, "editing": record is not None},
        status=status,
    )


@login_required
def contact_create(request: HttpRequest) -> HttpResponse:
    principal = principal_for(request.user)
    if not (principal.sees_everything or principal.may_edit_own):
        raise PermissionDenied("only the secretariat, organization editors and focal points record contacts")
    return _contact_form(request, None)


@login_required
def contact_edit(request: HttpRequest, key: int) -> HttpResponse:
    return _contact_form(request, record_to_change(request, Contact, key, "contact"))


@login_required
@require_POST
def contact_delete(request: HttpRequest, key: int) -> HttpResponse:
    record = get_object_or_404(Contact.objects.visible_to(request.user), pk=key)
    contacts.delete(request.user, record)
    messages.success(request, _("Deleted."))
    return redirect("directory:contact_list")


@login_required
@require_POST
def contact_erase(request: HttpRequest, key: int) -> HttpResponse:
    """Erase a person's details on request, from the entry and from its history."""
    record = get_object_or_404(Contact.objects.visible_to(request.user), pk=key)
    contacts.erase(request.user, record, request.POST.get("note", ""))
    messages.success(request, _("The personal details were erased from the entry and from its history."))
    return redirect(record.get_absolute_url())


# --- Verification ----------------------------------------------------------------------------


@login_required
@require_POST
def send_verification(request: HttpRequest, kind: str, key: str) -> HttpResponse:
    """The secretariat sends a link for one entry (kind "contact") or an organization's."""
    if kind == "contact":
        contact = get_object_or_404(Contact.objects.visible_to(request.user), pk=key)
        target: Any = contact
        kwargs: dict[str, Any] = {"contact": contact}
    else:
        organization = get_object_or_404(Organization.objects.visible_to(request.user), code=key)
        target, kwargs = organization, {"organization": organization}
    form = SendVerificationForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the e-mail address to send the link to."))
        return redirect(target.get_absolute_url())
    base = f"{request.scheme}://{request.get_host()}"
    verification.send(request.user, base, form.cleaned_data["sent_to"], **kwargs)
    messages.success(
        request, _("A verification link was sent to %(to)s.") % {"to": form.cleaned_data["sent_to"]}
    )
    return redirect(target.get_absolute_url())


@never_cache  # a person's own record, shown to whoever holds the link: kept by no cache
def verify(request: HttpRequest, token: str) -> HttpResponse:
    """The page a verification link opens, without signing in: confirm, or propose corrections."""
    try:
        found = verification.open_link(token)
    except verification.LinkRefused as refused:
        return _refused(request, refused)
    entries = verification.scope(found)
    forms_by_entry = {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        answers = {
            c.pk: {name: request.POST.get(f"{c.pk}-{name}", "") for name in (*CorrectionForm.FIELDS, "note")}
            for c in entries
        }
        try:
            outcome = verification.answer(found, answers)
        except Invalid as invalid:
            errors = invalid.errors
        except verification.LinkRefused as refused:
            return _refused(request, refused)
        else:
            return render(request, "directory/verify_done.html", {"outcome": outcome})
    for contact in entries:
        data = request.POST if request.method == "POST" else None
        initial = {name: getattr(contact, name) for name in CorrectionForm.FIELDS}
        form = CorrectionForm(data, initial=initial, prefix=str(contact.pk))
        for key, message in errors.items():
            pk, _sep, name = key.partition("-")
            if pk == str(contact.pk) and form.is_valid():
                form.add_error(name, message)
        forms_by_entry[contact.pk] = form
    return render(
        request,
        "directory/verify.html",
        {"verification": found, "entries": [(c, forms_by_entry[c.pk]) for c in entries]},
        status=422 if errors else 200,
    )


def _refused(request: HttpRequest, refused: Any) -> HttpResponse:
    status = 410 if refused.gone else 400
    return render(request, "directory/verify_refused.html", {"reason": refused.reason}, status=status)


@login_required
def corrections(request: HttpRequest) -> HttpResponse:
    """Corrections waiting for the secretariat, with the entry as it is and as proposed."""
    if not principal_for(request.user).sees_everything:
        raise PermissionDenied("only the secretariat reviews corrections")
    if request.method == "POST":
        correction = get_object_or_404(Correction, pk=request.POST.get("correction"))
        try:
            verification.decide(request.user, correction, request.POST.get("decision") == "approve")
        except Invalid as invalid:
            messages.error(request, str(invalid))
        else:
            messages.success(request, _("Done."))
        return redirect("directory:corrections")
    pending = Correction.objects.filter(status=Correction.Status.PENDING).select_related(
        "contact__organization", "contact__state", "verification"
    )
    rows = [
        (c, [(name, getattr(c.contact, name), value) for name, value in c.proposed.items()]) for c in pending
    ]
    return render(request, "directory/corrections.html", {"rows": rows, "title": _("Corrections to approve")})


# --- Import ----------------------------------------------------------------------------------


@login_required
def import_directory(request: HttpRequest) -> HttpResponse:
    return import_page(
        request,
        kind="directory",
        template="directory/import.html",
        context={"sheets": importers.SHEETS, "title": _("Import organizations, memberships and contacts")},
        check=importers.check,
        done=reverse("directory:contact_list"),
        allowed=importers.may_import,
    )


def import_template(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(importers.template_xlsx(), content_type=XLSX_TYPE)
    response["Content-Disposition"] = 'attachment; filename="coopmatrix-directory-template.xlsx"'
    return response


def membership_panel(request: HttpRequest, state: Any) -> dict[str, Any]:
    """On a State's page: the organizations it belongs or belonged to, that the reader may see."""
    memberships = (
        Membership.objects.visible_to(request.user).filter(state=state).select_related("organization")
    )
    return {"template": "directory/partials/state_memberships.html", "memberships": memberships, "order": 40}


def state_panel(request: HttpRequest, state: Any) -> dict[str, Any]:
    """On a State's page: its contacts (focal points, central authorities …) the reader may see."""
    entries = _with_roles(Contact.objects.visible_to(request.user).filter(state=state)).select_related(
        "organization"
    )
    return {
        "template": "directory/partials/state_panel.html",
        "order": 30,
        "contacts": entries.order_by("organization__name", "function"),
        "visible_organizations": visible_organization_ids(request),
        "state": state,
    }


@login_required
def export_log(request: HttpRequest) -> HttpResponse:
    """Who exported contacts, when, how and which: personal data leaves a trace one can read."""
    if not principal_for(request.user).sees_everything:
        raise PermissionDenied("only the secretariat reads the log of exports of contacts")
    entries = ContactExport.objects.select_related("user")[:500]
    return render(
        request, "directory/export_log.html", {"entries": entries, "title": _("Exports of contacts")}
    )
