import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from .models import Contribution, ExchangeRate, Fund, FundingNeed


class ContributionTable(tables.Table):
    date = tables.Column(
        verbose_name=_("Date"),
        accessor="date_display",
        order_by="date",
        linkify=lambda record: record.get_absolute_url(),
    )
    donor = tables.Column(
        verbose_name=_("Donor"),
        accessor="donor",
        order_by=("donor_state__name_en", "donor_organization__name"),
    )
    kind = tables.Column(verbose_name=_("Kind"))
    amount = tables.Column(verbose_name=_("Amount"), attrs={"td": {"class": "number"}})
    currency = tables.Column(verbose_name=_("Currency"))
    recipient = tables.Column(verbose_name=_("Given to"), accessor="recipient", orderable=False)
    earmarking = tables.Column(verbose_name=_("Earmarking"))
    source = tables.Column(verbose_name=_("Source"))

    class Meta:
        model = Contribution
        fields = ("date", "donor", "kind", "amount", "currency", "recipient", "earmarking", "source")
        order_by = ("-date",)

    def render_amount(self, value):
        return f"{value:,.2f}"


class FundingNeedTable(tables.Table):
    programme = tables.Column(
        verbose_name=_("Programme, project or phase"),
        accessor="programme__title",
        linkify=lambda record: record.programme.get_absolute_url(),
    )
    amount = tables.Column(
        verbose_name=_("Amount needed"),
        attrs={"td": {"class": "number"}},
        linkify=lambda record: record.get_absolute_url(),
    )
    currency = tables.Column(verbose_name=_("Currency"))
    period = tables.Column(verbose_name=_("Period"), accessor="period_display", orderable=False)
    source = tables.Column(verbose_name=_("Source"))

    class Meta:
        model = FundingNeed
        fields = ("programme", "amount", "currency", "period", "source")

    def render_amount(self, value):
        return f"{value:,.2f}"


class ExchangeRateTable(tables.Table):
    currency = tables.Column(verbose_name=_("Currency"))
    base = tables.Column(verbose_name=_("In"))
    date = tables.DateColumn(verbose_name=_("Valid from"), format="Y-m-d")
    rate = tables.Column(verbose_name=_("Value of one unit"))
    source = tables.Column(verbose_name=_("Source"))

    class Meta:
        model = ExchangeRate
        fields = ("currency", "base", "date", "rate", "source")


class FundTable(tables.Table):
    name = tables.Column(verbose_name=_("Fund"), linkify=True)
    managed_by = tables.Column(verbose_name=_("Managed by"), accessor="managed_by__name")
    source = tables.Column(verbose_name=_("Source"))

    class Meta:
        model = Fund
        fields = ("name", "managed_by", "source")
