import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from coopmatrix.geo.models import Region

from .participation import BASES, INSTRUMENT_SETS

ELEVEN_SEPTEMBER = dt.date(2001, 9, 11)


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
        data["as_at"] = data.get("as_at") or timezone.localdate()
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
