from html import escape
from typing import Any

import django_tables2 as tables
from django.conf import settings
from django.db.models import CharField, F, IntegerField, Value
from django.db.models.functions import Coalesce, NullIf
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from coopmatrix.core.tables import FAST_TEMPLATE, FastRows

from .models import Activity, ActivityProvider, Programme, Request


def _names(names: list[str], limit: int = 6) -> str:
    more = len(names) - limit
    text = ", ".join(names[:limit])
    return f"{text} (+{more})" if more > 0 else text


# Labels looked up once: Model.get_FOO_display() rebuilds and hashes the whole choice list on
# every call, which cost more than the rest of a row.
MODALITY = dict(Activity.Modality.choices)
STATUS = dict(Activity.Status.choices)
ROLE = dict(ActivityProvider.Role.choices)


class ActivityTable(FastRows, tables.Table):
    title = tables.Column(verbose_name=_("Activity"), linkify=True)
    recipients = tables.Column(verbose_name=_("Recipients"), empty_values=(), orderable=False)
    providers = tables.Column(verbose_name=_("Providers"), empty_values=(), orderable=False)
    thematic = tables.Column(verbose_name=_("Thematic areas"), empty_values=(), orderable=False)
    modality = tables.Column(verbose_name=_("Modality"))
    status = tables.Column(verbose_name=_("Status"))
    period_start = tables.Column(verbose_name=_("From"), accessor="period_start")
    period_end = tables.Column(verbose_name=_("To"), accessor="period_end")

    class Meta:
        model = Activity
        fields = (
            "title",
            "recipients",
            "providers",
            "thematic",
            "modality",
            "status",
            "period_start",
            "period_end",
        )
        order_by = ("-period_start",)
        template_name = FAST_TEMPLATE

    def __init__(self, *args, visible_organizations: set[int], editor: Any = None, **kwargs):
        # Required: a row names only the providers the reader may see. `editor`: a user who may
        # change activities; each row they may change gets a box to tick for the bulk actions.
        if editor is not None:
            kwargs["extra_columns"] = [
                ("select", tables.Column(verbose_name=_("Choose"), accessor="pk", orderable=False))
            ]
            kwargs["sequence"] = ("select", "...")
        super().__init__(*args, **kwargs)
        self.visible_organizations = visible_organizations
        self.editor = editor
        self._editable: set[int] = set()
        self._today = timezone.localdate()

    def prepare(self, records):
        """Recipients, providers and areas of the page in one query. prefetch_related builds a
        related manager and clones a queryset per row and relation: 25 ms a page."""
        ids = [record.pk for record in records]
        if self.editor is not None:
            editable = Activity.objects.editable_by(self.editor).filter(pk__in=ids)
            self._editable = set(editable.values_list("pk", flat=True))
        text, number = CharField(), IntegerField()

        def part(rows, kind, order, label, extra=None):
            extra = extra if extra is not None else Value("", output_field=text)
            return (
                rows.filter(activity_id__in=ids)
                .values_list("activity_id", Value(kind, output_field=text), order, label, extra)
                .order_by()
            )

        through = Activity.recipient_states.through
        rows = part(through.objects.all(), "state", Value(0, output_field=number), F("state__name_en")).union(
            part(
                Activity.recipient_regions.through.objects.all(),
                "region",
                F("region__m49"),
                F("region__name"),
            ),
            part(
                Activity.thematic_areas.through.objects.all(),
                "area",
                F("thematicarea__order"),
                F("thematicarea__name"),
            ),
            part(
                ActivityProvider.objects.filter(organization_id__in=self.visible_organizations),
                "provider",
                F("pk"),
                Coalesce(NullIf(F("organization__acronym"), Value("")), F("organization__name")),
                F("role"),
            ),
            all=True,
        )
        found: dict[tuple[int, str], list[tuple[int, str, str]]] = {}
        for pk, kind, order, label, extra in rows:
            found.setdefault((pk, kind), []).append((order, label, extra))
        for record in records:
            states, regions, areas, providers = (
                sorted(found.get((record.pk, kind), [])) for kind in ("state", "region", "area", "provider")
            )
            record.row_cells = (
                [label for _, label, _ in states],
                [label for _, label, _ in regions],
                [(label, self._labels()["role"].get(role, role)) for _, label, role in providers],
                [label for _, label, _ in areas],
            )

    def _labels(self) -> dict[str, Any]:
        """Choice labels translated once per page (each lazy label costs a lookup per row), and
        the activity's address as a pattern (reversing it per row cost as much as the row)."""
        if not hasattr(self, "_page_labels"):
            pattern = reverse("matrix:activity", args=[987654321]).replace("987654321", "{}")
            self._page_labels = {
                "modality": {k: str(v) for k, v in MODALITY.items()},
                "status": {k: str(v) for k, v in STATUS.items()},
                "past": str(_("not confirmed: its dates ended")),
                "role": {k: str(v) for k, v in ROLE.items()},
                "url": pattern,
            }
        return self._page_labels

    def _row(self, record):
        if not hasattr(record, "row_cells"):
            self.prepare([record])
        return record.row_cells

    def render_recipients(self, record):
        states, regions, _, _ = self._row(record)
        parts = [_names(states), *regions]
        return "; ".join(p for p in parts if p) or "—"

    def render_providers(self, record):
        return mark_safe(  # noqa: S308 - both parts escaped here
            ", ".join(
                f'{escape(label)} <span class="muted">({escape(role)})</span>'
                for label, role in self._row(record)[2]
            )
        )

    def render_thematic(self, record):
        return ", ".join(self._row(record)[3]) or "—"

    def render_period_start(self, record):
        return record.date_display("actual_start") or record.date_display("planned_start")

    def render_period_end(self, record):
        return record.date_display("actual_end") or record.date_display("planned_end")

    def _box(self, record) -> str:
        """A box to tick for the bulk actions, on a row the user may change (others: none)."""
        if record.pk not in self._editable:
            return ""
        label = escape(str(_("Choose: %(title)s")) % {"title": record.title})
        return f'<input type="checkbox" name="ids" value="{record.pk}" form="bulk" aria-label="{label}">'

    def _status(self, labels, record) -> str:
        shown = labels["status"].get(record.status, record.status)
        return f"{shown} ({labels['past']})" if record.past_its_end(self._today) else shown

    def cells(self, record):
        """Plain text, escaped by FastRows; the link and the providers come escaped and marked."""
        labels = self._labels()
        link = f'<a href="{escape(labels["url"].format(record.pk))}">{escape(record.title)}</a>'
        choose = ()
        if self.editor is not None:
            choose = (mark_safe(self._box(record)),)  # noqa: S308 - escaped in _box
        return (
            *choose,
            mark_safe(link),  # noqa: S308 - escaped above
            self.render_recipients(record),
            self.render_providers(record),
            self.render_thematic(record),
            labels["modality"].get(record.modality, record.modality),
            self._status(labels, record),
            self.render_period_start(record),
            self.render_period_end(record),
        )


class ProgrammeTable(tables.Table):
    title = tables.Column(verbose_name=_("Programme or project"), linkify=True)
    organization = tables.Column(verbose_name=_("Managed by"), order_by="organization__name")
    start = tables.Column(verbose_name=_("Start"), accessor="start_display", order_by="start")
    funding_need = tables.Column(verbose_name=_("Funding needed"))
    currency = tables.Column(verbose_name=_("Currency"))

    class Meta:
        model = Programme
        fields = ("title", "organization", "start", "funding_need", "currency")


class RequestTable(tables.Table):
    title = tables.Column(verbose_name=_("Request"), linkify=True)
    state = tables.Column(verbose_name=_("Requesting State"), order_by="state__name_en")
    received = tables.DateColumn(verbose_name=_("Received"), format="Y-m-d")
    channel = tables.Column(verbose_name=_("Channel"))
    status = tables.Column(verbose_name=_("Status"))
    priority = tables.Column(verbose_name=_("Priority"))
    unanswered = tables.Column(verbose_name=_("Follow-up"), empty_values=())

    class Meta:
        model = Request
        fields = ("title", "state", "received", "channel", "status", "priority", "unanswered")

    def render_unanswered(self, value: bool) -> str:
        if value:
            return format_html(
                '<span class="badge badge-warn" title="{}">{}</span>',
                _("No answering activity %(days)s days after it was received")
                % {"days": settings.REQUEST_UNANSWERED_DAYS},
                _("Unanswered"),
            )
        return ""
