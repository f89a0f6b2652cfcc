import django_tables2 as tables
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import Contact, Membership, Organization


class OrganizationTable(tables.Table):
    name = tables.Column(verbose_name=_("Organization"), linkify=True)
    acronym = tables.Column(verbose_name=_("Acronym"))
    kind = tables.Column(verbose_name=_("Kind"))
    parent = tables.Column(verbose_name=_("Part of"), order_by="parent__name")
    confidentiality = tables.Column(verbose_name=_("Confidentiality"))

    class Meta:
        model = Organization
        fields = ("name", "acronym", "kind", "parent", "confidentiality")
        order_by = ("name",)

    def __init__(self, *args, visible_ids: set[int], **kwargs):
        self.visible_ids = visible_ids
        super().__init__(*args, **kwargs)

    def render_parent(self, value, record):
        # A unit may be shown to someone who may not see its parent: then the parent stays unnamed.
        if record.parent_id not in self.visible_ids:
            return "—"
        return format_html('<a href="{}">{}</a>', value.get_absolute_url(), value)


class MembershipTable(tables.Table):
    organization = tables.Column(verbose_name=_("Organization"), linkify=True, order_by="organization__name")
    state = tables.Column(verbose_name=_("State"), linkify=True, order_by="state__name_en")
    kind = tables.Column(verbose_name=_("Kind"))
    joined = tables.Column(verbose_name=_("Joined"), accessor="joined_display", order_by="joined")
    left = tables.Column(verbose_name=_("Left"), accessor="left_display", order_by="left")
    detail = tables.Column(verbose_name="", accessor="pk", linkify=True, orderable=False)

    class Meta:
        model = Membership
        fields = ("organization", "state", "kind", "joined", "left")

    def render_detail(self, value):
        return _("details")


class ContactTable(tables.Table):
    who = tables.Column(
        verbose_name=_("Contact"), accessor="pk", order_by=("person_name", "function"), linkify=False
    )
    organization = tables.Column(verbose_name=_("Organization"), order_by="organization__name")
    state = tables.Column(verbose_name=_("State"), order_by="state__name_en")
    roles = tables.Column(verbose_name=_("Roles"), accessor="pk", orderable=False)
    email = tables.Column(verbose_name=_("E-mail"))
    telephone = tables.Column(verbose_name=_("Telephone"))
    # Rendered also when empty: a never-verified entry is the stalest of all.
    verified_on = tables.Column(verbose_name=_("Verified"), order_by="verified_on", empty_values=())

    class Meta:
        model = Contact
        fields = ("who", "organization", "state", "roles", "email", "telephone", "verified_on")
        order_by = ("organization",)

    def __init__(self, *args, visible_ids: set[int], **kwargs):
        self.visible_ids = visible_ids
        super().__init__(*args, **kwargs)

    def render_who(self, record):
        label = record.person_name or record.function
        extra = (
            format_html('<br><span class="muted">{}</span>', record.function)
            if record.person_name and record.function
            else ""
        )
        return format_html('<a href="{}">{}</a>{}', record.get_absolute_url(), label, extra)

    def render_organization(self, value, record):
        if record.organization_id not in self.visible_ids:
            return "—"
        return format_html('<a href="{}">{}</a>', value.get_absolute_url(), value.label)

    def render_roles(self, record):
        return ", ".join(r.name for r in record.roles.all()) or "—"

    def render_email(self, value):
        return format_html('<a href="mailto:{}">{}</a>', value, value)

    def render_verified_on(self, value, record):
        return stale_badge(record, f"{value:%Y-%m-%d}" if value else str(_("never")))

    def render_state(self, value):
        return format_html('<a href="{}">{}</a>', value.get_absolute_url(), value)


def stale_badge(record, text: str):
    if record.is_stale:
        return format_html(
            '{} <span class="badge badge-warn" data-testid="stale">{}</span>', text, _("stale")
        )
    return text or "—"
