from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from coopmatrix.core.filters import FastSelect
from coopmatrix.core.models import Confidentiality
from coopmatrix.geo.models import State

from .contacts import TEXT_FIELDS
from .models import Contact, ContactRole, Organization


class ContactForm(forms.Form):
    """One directory entry typed on a page; the checks are those of `contacts`, shared with the
    API and the importer, and their errors come back onto the fields they name."""

    person_name = forms.CharField(label=_("Name of the person"), required=False)
    function = forms.CharField(
        label=_("Function"), required=False, help_text=_('e.g. "Head, Terrorism Prevention Branch"')
    )
    organization = forms.ChoiceField(
        label=_("Organization or State agency"), required=False, widget=FastSelect
    )
    state = forms.ChoiceField(label=_("State"), required=False, widget=FastSelect)
    roles = forms.MultipleChoiceField(label=_("Roles"), required=False, widget=forms.CheckboxSelectMultiple)
    email = forms.CharField(label=_("E-mail"), required=False)
    telephone = forms.CharField(
        label=_("Telephone"), required=False, help_text=_("With the country code, e.g. +43 1 26060")
    )
    fax = forms.CharField(label=_("Fax"), required=False)
    postal_address = forms.CharField(
        label=_("Postal address"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    secure_channel_notes = forms.CharField(
        label=_("Notes on secure channels"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    languages = forms.CharField(
        label=_("Languages"), required=False, help_text=_("ISO 639 codes, e.g. en fr ar")
    )
    valid_from = forms.CharField(label=_("Valid from"), required=False, help_text=_("YYYY-MM-DD"))
    valid_to = forms.CharField(label=_("Valid to"), required=False, help_text=_("YYYY-MM-DD"))
    verified_on = forms.CharField(label=_("Verified on"), required=False, help_text=_("YYYY-MM-DD"))
    confidentiality = forms.ChoiceField(
        label=_("Confidentiality"),
        choices=Confidentiality.choices,
        initial=Confidentiality.RESTRICTED,
        help_text=_("Personal details are never public unless marked so."),
    )
    source = forms.CharField(label=_("Source"), required=False)

    def __init__(self, *args: Any, organizations: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        orgs = organizations if organizations is not None else Organization.objects.all()
        self.fields["organization"].choices = [("", "—")] + [
            (code, Organization.option_label(name, acronym))
            for code, name, acronym in orgs.order_by("name").values_list("code", "name", "acronym")
        ]
        self.fields["state"].choices = [("", "—")] + list(
            State.objects.exclude(status=State.Status.HISTORIC)
            .order_by("name_en")
            .values_list("code", "name_en")
        )
        self.fields["roles"].choices = list(ContactRole.objects.values_list("code", "name"))

    @staticmethod
    def initial_for(record: Contact) -> dict[str, Any]:
        data: dict[str, Any] = {
            name: getattr(record, name) or ""
            for name in (*TEXT_FIELDS, "languages", "confidentiality", "source")
        }
        for name in ("valid_from", "valid_to", "verified_on"):
            value = getattr(record, name)
            data[name] = value.isoformat() if value else ""
        data["organization"] = record.organization.code if record.organization_id else ""
        data["state"] = record.state.code if record.state_id else ""
        data["roles"] = list(record.roles.values_list("code", flat=True))
        return data

    def show(self, invalid: Any) -> None:
        for name, message in invalid.errors.items():
            self.add_error(name if name in self.fields else None, message)


class CorrectionForm(forms.Form):
    """What the person reached by a verification link may correct (no confidentiality, no roles
    the secretariat keeps): proposals wait for the secretariat's approval."""

    FIELDS = ("person_name", "function", "email", "telephone", "fax", "postal_address", "languages")

    person_name = forms.CharField(label=_("Name"), required=False)
    function = forms.CharField(label=_("Function"), required=False)
    email = forms.CharField(label=_("E-mail"), required=False)
    telephone = forms.CharField(label=_("Telephone"), required=False)
    fax = forms.CharField(label=_("Fax"), required=False)
    postal_address = forms.CharField(
        label=_("Postal address"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    languages = forms.CharField(label=_("Languages"), required=False)
    note = forms.CharField(
        label=_("Anything else the secretariat should know"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class SendVerificationForm(forms.Form):
    sent_to = forms.EmailField(label=_("Send the link to"))
