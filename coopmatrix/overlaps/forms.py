"""The gap views' choices, one form each, shared by the pages, their exports and the API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from coopmatrix.core.filters import BoundedModelMultipleChoiceField, FastSelect, FastSelectMultiple
from coopmatrix.geo.models import Region, State
from coopmatrix.matrix.filtersets import states_within
from coopmatrix.treaties.models import Instrument

from .gaps import STAGES


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


class _Form(forms.Form):
    def about(self) -> list[tuple[str, str]]:
        """The choices made, for a cover sheet."""
        found = []
        for name, value in self.cleaned_data.items():
            if value in (None, "", [], False) or (hasattr(value, "exists") and not value.exists()):
                continue
            if hasattr(value, "__iter__") and not isinstance(value, str):
                value = ", ".join(str(v) for v in value)
            found.append((str(self.fields[name].label), str(value)))
        return found


#: The gap pages' lists stay plain multiple selects (no searchable picker), drawn in Python: the
#: State list's 280 options took most of the page's time through Django's per-option templates.
PLAIN = {"data-picker": False}


class WaitingForm(_Form):
    state = forms.ModelMultipleChoiceField(
        queryset=State.objects.order_by("name_en"),
        to_field_name="code",
        required=False,
        label=_("Requesting State"),
        widget=FastSelectMultiple(attrs=PLAIN),
    )
    stage = forms.MultipleChoiceField(
        choices=list(STAGES.items()),
        required=False,
        label=_("Where it waits"),
        widget=FastSelectMultiple(attrs=PLAIN),
    )
    overdue = forms.BooleanField(required=False, label=_("Overdue only"))


class GridForm(_Form):
    rows = forms.ChoiceField(
        choices=[("state", _("States")), ("region", _("Sub-regions (M49)"))],
        required=False,
        label=_("Rows"),
        widget=FastSelect,
    )
    region = BoundedModelMultipleChoiceField(
        queryset=Region.objects.order_by("name"),
        to_field_name="m49",
        required=False,
        label=_("Region or sub-region"),
        widget=FastSelectMultiple(attrs=PLAIN),
    )
    period_from = forms.DateField(required=False, label=_("From"), help_text=_("YYYY-MM-DD"))
    period_to = forms.DateField(required=False, label=_("To"), help_text=_("YYYY-MM-DD"))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("period_from"), data.get("period_to")
        if start and end and end < start:
            self.add_error("period_to", _("the end of the period is before its start"))
        return data

    def states(self) -> Any:
        regions = self.cleaned_data.get("region")
        return states_within(regions) if regions else None


class TreatyGapForm(_Form):
    as_at = forms.DateField(
        required=False, label=_("Not party as at"), help_text=_("YYYY-MM-DD; today if empty")
    )
    period_from = forms.DateField(
        required=False, label=_("No legislative assistance from"), help_text=_("five years before if empty")
    )
    period_to = forms.DateField(required=False, label=_("to"), help_text=_("the date above if empty"))
    instrument = forms.ModelMultipleChoiceField(
        queryset=Instrument.objects.none(),
        to_field_name="code",
        required=False,
        label=_("Instrument"),
        widget=FastSelectMultiple(attrs=PLAIN),
    )
    region = BoundedModelMultipleChoiceField(
        queryset=Region.objects.order_by("name"),
        to_field_name="m49",
        required=False,
        label=_("Region or sub-region"),
        widget=FastSelectMultiple(attrs=PLAIN),
    )

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A hidden instrument reads as an unknown one.
        self.fields["instrument"].queryset = Instrument.objects.visible_to(user).order_by("adopted")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        as_at = data.get("as_at") or timezone.localdate()
        data["as_at"] = as_at
        data["period_to"] = data.get("period_to") or as_at
        data["period_from"] = data.get("period_from") or _years_before(as_at, 5)
        if data["period_to"] < data["period_from"]:
            self.add_error("period_to", _("the end of the period is before its start"))
        if not dt.date(1900, 1, 1) <= as_at <= dt.date(2200, 12, 31):
            self.add_error("as_at", _("a date between 1900 and 2200"))
        return data

    def states(self) -> Any:
        regions = self.cleaned_data.get("region")
        return states_within(regions) if regions else None
