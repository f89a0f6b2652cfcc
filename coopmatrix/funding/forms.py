from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

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
