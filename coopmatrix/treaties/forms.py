import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from coopmatrix.core.filters import FastSelect
from coopmatrix.core.models import Confidentiality
from coopmatrix.geo.models import Region, State

from .models import Instrument, TreatyAction
from .participation import BASES, INSTRUMENT_SETS

ELEVEN_SEPTEMBER = dt.date(2001, 9, 11)


def published_on():
    """The date of the latest published Table 2 figures, or None."""
    from .models import PublishedCount

    return PublishedCount.objects.order_by("-as_at").values_list("as_at", flat=True).first()


class Table2Form(forms.Form):
    as_at = forms.DateField(label=_("Parties as at"), required=False)
    after = forms.DateField(label=_("Consented strictly after"), required=False)
    instruments = forms.ChoiceField(
        label=_("Instruments"),
        choices=[(INSTRUMENT_SETS[0], _("the 12 of Table 2 (2004)")), (INSTRUMENT_SETS[1], _("all 19"))],
        required=False,
    )
    basis = forms.ChoiceField(
        label=_("Count by"),
        choices=[(BASES[0], _("date of deposit (as depositaries count)")), (BASES[1], _("date of effect"))],
        required=False,
    )
    region = forms.ModelChoiceField(
        queryset=Region.objects.all(), to_field_name="m49", label=_("Region or sub-region"), required=False
    )

    def clean(self):
        data = super().clean()
        # By default, the date of the published figures, so that the two columns count the same day.
        data["as_at"] = data.get("as_at") or published_on() or timezone.localdate()
        data["after"] = data.get("after") or ELEVEN_SEPTEMBER
        data["instruments"] = data.get("instruments") or INSTRUMENT_SETS[0]
        data["basis"] = data.get("basis") or BASES[0]
        if data["after"] >= data["as_at"]:
            self.add_error("after", _("must be before the date 'as at'"))
        return data


class ImpactForm(forms.Form):
    months = forms.IntegerField(
        label=_("Within how many months"), min_value=0, max_value=240, initial=24, required=False
    )
    provider = forms.CharField(label=_("Provider (code)"), required=False)
    assisted_from = forms.DateField(label=_("Assistance ended on or after"), required=False)
    assisted_to = forms.DateField(label=_("Assistance ended on or before"), required=False)

    def clean(self):
        data = super().clean()
        if data.get("months") is None:
            data["months"] = 24
        return data


class MapForm(forms.Form):
    as_at = forms.DateField(label=_("Parties as at"), required=False)
    instruments = Table2Form.base_fields["instruments"]


class TreatyActionForm(forms.Form):
    """One treaty action typed on a page; the checks are those of `actions`, shared with the API
    and both importers, and their errors come back onto the fields they name."""

    state = forms.ChoiceField(label=_("State"), widget=FastSelect)
    instrument = forms.ChoiceField(label=_("Instrument"), widget=FastSelect)
    action = forms.ChoiceField(label=_("Action"), choices=TreatyAction.Action.choices)
    date = forms.CharField(label=_("Date of the action (deposit)"), help_text=_("YYYY-MM-DD"))
    effective = forms.CharField(
        label=_("Takes effect for the State"),
        required=False,
        help_text=_("Only when it differs from the instrument's rule; give its source below."),
    )
    effective_source = forms.CharField(label=_("Source of that date"), required=False)
    text = forms.CharField(
        label=_("Text of the declaration or reservation"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    source = forms.CharField(
        label=_("Source"), required=False, help_text=_("Depositary notification, or document and paragraph.")
    )
    confidentiality = forms.ChoiceField(label=_("Confidentiality"), choices=Confidentiality.choices)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["state"].choices = list(
            State.objects.exclude(status=State.Status.HISTORIC)
            .order_by("name_en")
            .values_list("code", "name_en")
        )
        self.fields["instrument"].choices = [
            (i.code, str(i)) for i in Instrument.objects.visible_to(user).order_by("adopted")
        ]

    @staticmethod
    def initial_for(record: TreatyAction) -> dict[str, Any]:
        return {
            "state": record.state.code,
            "instrument": record.instrument.code,
            "action": record.action,
            "date": record.deposited.isoformat(),
            "effective": record.effective.isoformat() if record.effective and record.effective_source else "",
            "effective_source": record.effective_source,
            "text": record.text,
            "source": record.source,
            "confidentiality": record.confidentiality,
        }

    def show(self, invalid: Any) -> None:
        for name, message in invalid.errors.items():
            self.add_error(name if name in self.fields else None, message)
