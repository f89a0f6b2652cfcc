"""Forms to record activities and requests on a page.

A form only collects what the user typed and offers the choices the user may see; the checks
live in `actions`, shared with the API and the importer, and their errors come back onto the
fields they name.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from coopmatrix.core.filters import FastSelect, FastSelectMultiple
from coopmatrix.core.models import Confidentiality
from coopmatrix.core.roles import principal_for
from coopmatrix.directory.models import Organization
from coopmatrix.geo.models import Region, State
from coopmatrix.treaties.models import Instrument
from coopmatrix.vocabulary.models import ThematicArea

from .actions import Invalid
from .models import Activity, ActivityProvider, Programme, Referral, Request

DATE_HELP = _(
    "YYYY-MM-DD, YYYY-MM or YYYY: only as precise as the source; period:YYYY-MM-DD for a reporting period."
)
LIST = {"size": 8}


def _text(label: Any, required: bool = False, help_text: Any = "", **kwargs: Any) -> forms.CharField:
    return forms.CharField(label=label, required=required, help_text=help_text, **kwargs)


def _many(label: Any, choices: Any, help_text: Any = "") -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label=label,
        choices=choices,
        required=False,
        widget=FastSelectMultiple(attrs=LIST),
        help_text=help_text,
    )


#: The first option of a required choice: nothing is chosen for the user without their knowing.
CHOOSE = ("", _("— choose —"))


def _one(label: Any, choices: Any, required: bool = True) -> forms.ChoiceField:
    choices = [CHOOSE, *choices] if required and choices else choices
    return forms.ChoiceField(label=label, choices=choices, required=required, widget=FastSelect)


def _organizations(user: Any) -> list[tuple[str, str]]:
    # By name, with the acronym users know them by ("United Nations Office on Drugs and Crime (UNODC)").
    return [(o.code, str(o)) for o in Organization.objects.visible_to(user).order_by(Lower("name"))]


def _states() -> list[tuple[str, str]]:
    return [(s.code, s.name_en) for s in State.objects.order_by(Lower("name_en"))]


class RecordForm(forms.Form):
    """Shared by both forms: choices narrowed to the user, errors from `actions.Invalid` put back."""

    def __init__(self, *args: Any, user: Any, creating: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        if "owner" in self.fields and not (creating and principal_for(user).sees_everything):
            # Only the secretariat names the owner of a new record; others own what they create.
            del self.fields["owner"]
        elif "owner" in self.fields:
            self.fields["owner"].choices = [("", _("— none —")), *_organizations(user)]

    def show(self, invalid: Invalid) -> None:
        for field, message in invalid.errors.items():
            target = self.error_fields.get(field, field)
            if target in self.fields:
                self.add_error(target, message)
            else:
                self.add_error(None, f"{field}: {message}")

    #: Where an error of `actions` is shown when its name is not a field of the form.
    error_fields: dict[str, str] = {}


class ActivityForm(RecordForm):
    title = _text(_("Title"), required=True, max_length=300)
    description = _text(_("Description"), widget=forms.Textarea(attrs={"rows": 3}))
    external_id = _text(
        _("External identifier"),
        max_length=100,
        help_text=_("IATI-style identifier, if the activity has one."),
    )
    programme = _one(_("Programme or project"), [], required=False)
    funding = _many(_("Funding organizations"), [])
    implementing = _many(_("Implementing organizations"), [])
    partner = _many(_("Partner organizations"), [])
    # IATI's two other roles, as its publishers give them.
    accountable = _many(_("Accountable organizations"), [])
    extending = _many(_("Extending organizations"), [])
    recipient_states = _many(_("Recipient States"), [])
    recipient_regions = _many(
        _("Recipient regions"), [], help_text=_("A region reaches its member States in the matrix.")
    )
    thematic_areas = forms.MultipleChoiceField(
        label=_("Thematic areas"), required=False, widget=forms.CheckboxSelectMultiple
    )
    instruments = _many(_("Instruments concerned"), [])
    modality = _one(_("Modality"), Activity.Modality.choices)
    status = _one(_("Status"), Activity.Status.choices)
    planned_start = _text(_("Planned start"), help_text=DATE_HELP)
    planned_end = _text(_("Planned end"), help_text=DATE_HELP)
    actual_start = _text(_("Actual start"), help_text=DATE_HELP)
    actual_end = _text(_("Actual end"), help_text=DATE_HELP)
    budget = _text(_("Budget"), help_text=_("An amount, e.g. 12000 or 12000.50."))
    currency = _text(_("Currency"), help_text=_("ISO 4217 code, e.g. USD, EUR."))
    people_trained = _text(_("People trained"))
    outcome_documents = _text(_("Outcome documents"), widget=forms.Textarea(attrs={"rows": 2}))
    requests = _many(_("Requests it answers"), [])
    source = _text(_("Source"), help_text=_("Document and paragraph the record comes from."))
    confidentiality = _one(_("Confidentiality"), Confidentiality.choices)
    owner = _one(_("Owner organization"), [], required=False)

    error_fields = {"providers": "implementing"}

    def __init__(self, *args: Any, user: Any, creating: bool, **kwargs: Any) -> None:
        super().__init__(*args, user=user, creating=creating, **kwargs)
        organizations = _organizations(user)
        for name in ActivityProvider.Role.values:
            self.fields[name].choices = organizations
        programmes = Programme.objects.visible_to(user).order_by("title")
        self.fields["programme"].choices = [("", _("— none —")), *((p.code, p.title) for p in programmes)]
        self.fields["recipient_states"].choices = _states()
        self.fields["recipient_regions"].choices = [
            # Names only: an M49 code in brackets reads as a count ("Africa (2)").
            (r.m49, r.name)
            for r in Region.objects.order_by("name")
        ]
        self.fields["thematic_areas"].choices = [(t.code, t.name) for t in ThematicArea.objects.all()]
        self.fields["instruments"].choices = [
            (i.code, i.short_title) for i in Instrument.objects.visible_to(user)
        ]
        self.fields["requests"].choices = [
            (r.pk, f"{r.state.name_en}: {r.title} ({r.received:%Y-%m-%d})")
            for r in Request.objects.visible_to(user).select_related("state").order_by("-received")
        ]

    @classmethod
    def initial_for(cls, activity: Activity, user: Any) -> dict[str, Any]:
        roles: dict[str, list[str]] = {role: [] for role in ActivityProvider.Role.values}
        for link in activity.provider_roles.select_related("organization"):
            roles[link.role].append(link.organization.code)
        return {
            "title": activity.title,
            "description": activity.description,
            "external_id": activity.external_id or "",
            "programme": activity.programme.code if activity.programme else "",
            **roles,
            "recipient_states": [s.code for s in activity.recipient_states.all()],
            "recipient_regions": [r.m49 for r in activity.recipient_regions.all()],
            "thematic_areas": [t.code for t in activity.thematic_areas.all()],
            "instruments": [i.code for i in activity.instruments.all()],
            "modality": activity.modality,
            "status": activity.status,
            **{name: activity.date_text(name) for name in Activity.DATE_FIELDS},
            "budget": "" if activity.budget is None else activity.budget,
            "currency": activity.currency,
            "people_trained": "" if activity.people_trained is None else activity.people_trained,
            "outcome_documents": activity.outcome_documents,
            "requests": [r.pk for r in Request.objects.visible_to(user).filter(answered_by=activity)],
            "source": activity.source,
            "confidentiality": activity.confidentiality,
        }

    def data_for_actions(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["providers"] = [
            {"organization": code, "role": role}
            for role in ActivityProvider.Role.values
            for code in data.pop(role)
        ]
        data["owner"] = data.get("owner") or None
        return data


class RequestForm(RecordForm):
    state = _one(_("Requesting State"), [])
    title = _text(_("Title"), required=True, max_length=300)
    description = _text(_("Description"), widget=forms.Textarea(attrs={"rows": 4}))
    received = _text(_("Received"), required=True, help_text=DATE_HELP)
    channel = _one(_("Channel"), Request.Channel.choices)
    priority = _one(_("Priority"), Request.Priority.choices)
    thematic_areas = forms.MultipleChoiceField(
        label=_("Thematic areas"), required=False, widget=forms.CheckboxSelectMultiple
    )
    instruments = _many(_("Instruments concerned"), [])
    source = _text(_("Source"), help_text=_("Letter, note verbale or document the request comes from."))
    confidentiality = _one(_("Confidentiality"), Confidentiality.choices)
    owner = _one(_("Owner organization"), [], required=False)

    def __init__(self, *args: Any, user: Any, creating: bool, **kwargs: Any) -> None:
        super().__init__(*args, user=user, creating=creating, **kwargs)
        principal = principal_for(user)
        states = _states()
        if principal.state_id and not principal.sees_everything:
            own = State.objects.get(pk=principal.state_id)
            states = [(own.code, own.name_en)]
        self.fields["state"].choices = [("", _("— choose —")), *states]
        self.fields["thematic_areas"].choices = [(t.code, t.name) for t in ThematicArea.objects.all()]
        self.fields["instruments"].choices = [
            (i.code, i.short_title) for i in Instrument.objects.visible_to(user)
        ]
        self.initial.setdefault("confidentiality", Confidentiality.RESTRICTED)

    @classmethod
    def initial_for(cls, record: Request) -> dict[str, Any]:
        return {
            "state": record.state.code,
            "title": record.title,
            "description": record.description,
            "received": record.received_text,
            "channel": record.channel,
            "priority": record.priority,
            "thematic_areas": [t.code for t in record.thematic_areas.all()],
            "instruments": [i.code for i in record.instruments.all()],
            "source": record.source,
            "confidentiality": record.confidentiality,
        }

    def data_for_actions(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["owner"] = data.get("owner") or None
        return data


class StatusForm(forms.Form):
    status = _one(_("New status"), [])
    on = forms.DateField(label=_("On"), required=False, help_text=_("Empty: today."))
    note = _text(_("Note"), max_length=500)

    def __init__(self, *args: Any, record: Request, **kwargs: Any) -> None:
        from .actions import NEXT_STATUS

        super().__init__(*args, **kwargs)
        allowed = NEXT_STATUS.get(Request.Status(record.status), set())
        self.fields["status"].choices = [(s.value, s.label) for s in Request.Status if s in allowed]


class ReferForm(forms.Form):
    providers = forms.MultipleChoiceField(
        label=_("Refer to"), widget=FastSelectMultiple(attrs=LIST), required=True
    )
    on = forms.DateField(label=_("On"), required=False, help_text=_("Empty: today."))
    note = _text(_("Note"), max_length=500)

    def __init__(self, *args: Any, user: Any, record: Request, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        already = set(record.referrals.values_list("provider__code", flat=True))
        self.fields["providers"].choices = [(c, n) for c, n in _organizations(user) if c not in already]


class AnswerForm(forms.Form):
    response = _one(
        _("Answer"), [(Referral.Response.ACCEPTED, _("Accept")), (Referral.Response.DECLINED, _("Decline"))]
    )
    on = forms.DateField(label=_("On"), required=False, help_text=_("Empty: today."))
