from __future__ import annotations

from html import escape
from typing import Any

import django_tables2 as tables
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from coopmatrix.core.tables import FAST_TEMPLATE, FastRows

from .models import Overlap

VERDICT = dict(Overlap.Verdict.choices)


class OverlapTable(FastRows, tables.Table):
    score = tables.Column(verbose_name=_("Score"), linkify=True)
    first = tables.Column(verbose_name=_("Activity"), linkify=True, order_by="first__title")
    second = tables.Column(verbose_name=_("Possible overlap with"), linkify=True, order_by="second__title")
    reasons = tables.Column(verbose_name=_("Why"), orderable=False)
    verdict = tables.Column(verbose_name=_("Verdict"), empty_values=())

    class Meta:
        model = Overlap
        fields = ("score", "first", "second", "reasons", "verdict")
        attrs = {"class": "table", "data-testid": "overlaps"}
        # Rows drawn in Python (core.tables): django-tables2's cells, each link reversed and each
        # renderer's signature inspected, were a third of the queue's first page.
        template_name = FAST_TEMPLATE

    def _page(self) -> dict[str, Any]:
        """Addresses as patterns and labels translated, once per page."""
        if not hasattr(self, "_labels"):
            marker = "987654321"
            self._labels = {
                "pair": reverse("overlaps:overlap", args=[int(marker)]).replace(marker, "{}"),
                "activity": reverse("matrix:activity", args=[int(marker)]).replace(marker, "{}"),
                "verdict": {k: str(v) for k, v in VERDICT.items()},
                "waiting": str(_("Not yet reviewed")),
                "again": str(_("asked again: the score moved")),
            }
        return self._labels

    def cells(self, record: Overlap) -> tuple[Any, ...]:
        page = self._page()

        def link(url: str, text: str) -> Any:
            return mark_safe(f'<a href="{escape(url)}">{escape(text)}</a>')  # noqa: S308 - escaped

        return (
            link(page["pair"].format(record.pk), f"{record.score:.2f}"),
            link(page["activity"].format(record.first_id), str(record.first)),
            link(page["activity"].format(record.second_id), str(record.second)),
            self.render_reasons(record),
            self.render_verdict(record),
        )

    def render_score(self, value: float) -> str:
        return f"{value:.2f}"

    def render_reasons(self, record: Overlap) -> str:
        # The two strongest reasons; the pair's page gives all, with their weights.
        strongest = sorted(record.shown_reasons, key=lambda r: -r["value"] * r["weight"])[:2]
        return "; ".join(r["words"] for r in strongest)

    def render_verdict(self, record: Overlap) -> Any:
        page = self._page()
        badge = '<span class="badge badge-warn">{}</span>'
        if not record.verdict:
            return mark_safe(badge.format(escape(page["waiting"])))  # noqa: S308 - escaped
        shown = escape(page["verdict"].get(record.verdict, record.verdict))
        if record.to_review:
            return mark_safe(f"{shown} " + badge.format(escape(page["again"])))  # noqa: S308 - escaped
        return mark_safe(shown)  # noqa: S308 - escaped
