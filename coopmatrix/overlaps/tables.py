from __future__ import annotations

from typing import Any

import django_tables2 as tables
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import Overlap

VERDICT = dict(Overlap.Verdict.choices)


class OverlapTable(tables.Table):
    score = tables.Column(verbose_name=_("Score"), linkify=True)
    first = tables.Column(verbose_name=_("Activity"), linkify=True, order_by="first__title")
    second = tables.Column(verbose_name=_("Possible overlap with"), linkify=True, order_by="second__title")
    reasons = tables.Column(verbose_name=_("Why"), orderable=False)
    verdict = tables.Column(verbose_name=_("Verdict"), empty_values=())

    class Meta:
        model = Overlap
        fields = ("score", "first", "second", "reasons", "verdict")
        attrs = {"class": "table", "data-testid": "overlaps"}

    def render_score(self, value: float) -> str:
        return f"{value:.2f}"

    def render_reasons(self, record: Overlap) -> str:
        # The two strongest reasons; the pair's page gives all, with their weights.
        strongest = sorted(record.reasons, key=lambda r: -r["value"] * r["weight"])[:2]
        return "; ".join(r["words"] for r in strongest)

    def render_verdict(self, record: Overlap) -> Any:
        if not record.verdict:
            return format_html('<span class="badge badge-warn">{}</span>', _("Not yet reviewed"))
        shown = VERDICT[record.verdict]
        if record.to_review:
            return format_html(
                '{} <span class="badge badge-warn">{}</span>', shown, _("asked again: the score moved")
            )
        return shown
