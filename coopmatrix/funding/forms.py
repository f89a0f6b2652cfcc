from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from coopmatrix.core.models import Confidentiality

from .models import Contribution, Fund, PublishedContribution
from .table1 import Recipient, recipient


def default_recipient(user: Any) -> str:
    """The first fund the user may see that has published figures, else the first fund."""
    funds = Fund.objects.visible_to(user)
    published = PublishedContribution.objects.visible_to(user).values("fund_id")
    fund = funds.filter(pk__in=published).first() or funds.first()
    return f"fund:{fund.code}" if fund else ""


class Table1Form(forms.Form):
    recipient = forms.CharField(
        label=_("Given to"),
        required=False,
        help_text=_("fund:<code>, programme:<code> (with its projects) or activity:<number>"),
    )
    as_at = forms.DateField(label=_("As at"), required=False)
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[(Contribution.Kind.PAYMENT, _("payments (made)")), (Contribution.Kind.PLEDGE, _("pledges"))],
        required=False,
    )

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["recipient"].widget.attrs["list"] = "recipients"

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        text = data.get("recipient") or default_recipient(self.user)
        data["kind"] = data.get("kind") or Contribution.Kind.PAYMENT
        try:
            data["target"] = recipient(text, self.user) if text else None
        except ValueError as exc:
            self.add_error("recipient", str(exc))
            return data
        if data["target"] is None:
            self.add_error("recipient", _("No fund, programme or activity to count contributions to."))
        data["as_at"] = data.get("as_at") or _published_on(data["target"], self.user) or timezone.localdate()
        return data


def _published_on(target: Recipient | None, user: Any):
    """By default, the date of the published figures, so that the two columns count the same day."""
    if target is None or target.kind != "fund":
        return None
    rows = PublishedContribution.objects.visible_to(user).filter(fund=target.record)
    return rows.order_by("-as_at").values_list("as_at", flat=True).first()


class GapForm(forms.Form):
    view = forms.ChoiceField(
        label=_("View"),
        choices=[
            ("programmes", _("per programme and project")),
            ("donors", _("per donor and year")),
            ("states", _("per recipient State")),
        ],
        required=False,
    )
    as_at = forms.DateField(label=_("As at"), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        data["view"] = data.get("view") or "programmes"
        data["as_at"] = data.get("as_at") or timezone.localdate()
        return data


class ContributionForm(forms.Form):
    """One contribution typed on a page; the checks are those of `actions`, shared with the API
    and the importer, and their errors come back onto the fields they name."""

    donor = forms.CharField(
        label=_("Donor"), help_text=_("state:<name or ISO code> (state:Austria) or organization:<code>")
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=Contribution.Kind.choices)
    amount = forms.CharField(
        label=_("Amount"), help_text=_("A number without currency: 1025674 or 1025674.50")
    )
    currency = forms.CharField(label=_("Currency"), max_length=3, help_text=_("ISO 4217: USD, EUR …"))
    date = forms.CharField(
        label=_("Date"), help_text=_("YYYY-MM-DD, YYYY-MM or YYYY, as precise as the source")
    )
    fund = forms.ChoiceField(label=_("Through the fund"), required=False)
    programme = forms.ChoiceField(label=_("Programme or project"), required=False)
    activity = forms.CharField(label=_("Activity (identifier or number)"), required=False)
    earmarking = forms.ChoiceField(label=_("Earmarking"), choices=Contribution.Earmarking.choices)
    fiscal_year = forms.CharField(label=_("Fiscal year"), required=False)
    settles = forms.CharField(
        label=_("Settles the pledge"),
        required=False,
        help_text=_("For a payment: the pledge's identifier or number"),
    )
    external_id = forms.CharField(label=_("External identifier"), required=False)
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    source = forms.CharField(label=_("Source"), required=False, help_text=_("Document and paragraph."))
    confidentiality = forms.ChoiceField(label=_("Confidentiality"), choices=Confidentiality.choices)
    confirm = forms.BooleanField(
        label=_("Record it even if its payments come to more than the pledge"), required=False
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        from coopmatrix.matrix.models import Programme

        super().__init__(*args, **kwargs)
        # Options are records too: only those the user may see are offered.
        self.fields["fund"].choices = [("", "—")] + [(f.code, f.name) for f in Fund.objects.visible_to(user)]
        self.fields["programme"].choices = [("", "—")] + [
            (p.code, p.title) for p in Programme.objects.visible_to(user).order_by("title")
        ]

    @staticmethod
    def initial_for(record: Contribution, user: Any) -> dict[str, Any]:
        from coopmatrix.core.dates import partial_text

        donor = (
            f"state:{record.donor_state.code}"
            if record.donor_state_id
            else f"organization:{record.donor_organization.code}"
        )
        return {
            "donor": donor,
            "kind": record.kind,
            "amount": str(record.amount),
            "currency": record.currency,
            "date": partial_text(record.date, record.date_precision),
            "fund": record.fund.code if record.fund_id else "",
            "programme": record.programme.code if record.programme_id else "",
            "activity": (record.activity.external_id or str(record.activity_id))
            if record.activity_id
            else "",
            "earmarking": record.earmarking,
            "fiscal_year": record.fiscal_year or "",
            # The pledge is named only to those who may see it, by its number.
            "settles": str(record.settles_id)
            if record.settles_id
            and Contribution.objects.visible_to(user).filter(pk=record.settles_id).exists()
            else "",
            "external_id": record.external_id or "",
            "note": record.note,
            "source": record.source,
            "confidentiality": record.confidentiality,
        }

    def show(self, invalid: Any) -> None:
        for name, message in invalid.errors.items():
            self.add_error(name if name in self.fields else None, message)
