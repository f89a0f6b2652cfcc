import django_tables2 as tables
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import Membership, Organization


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
