"""Funding: who gave what, to which fund, programme or activity, and what is still needed.

"Table 1 shows the contributions that have been made to the United Nations Crime Prevention and
Criminal Justice Fund for technical assistance projects of the Terrorism Prevention Branch"
(report of 17 March 2004, paragraph 17); "the total funding projected for the first phase is
$2.5 million" (paragraph 15). Amounts are kept in their own currency; figures in the reporting
currency are converted at the rate of their date (`money.py`), never stored.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from coopmatrix.core.dates import PartialDate, Precision, format_partial
from coopmatrix.core.fields import JSONField
from coopmatrix.core.models import ConfidentialRecord
from coopmatrix.core.querysets import VisibleQuerySet

#: Amounts to the cent, up to a thousand billion: a Decimal, never a float.
AMOUNT: dict[str, Any] = {"max_digits": 17, "decimal_places": 2}


def _precision(verbose: Any) -> models.CharField:
    return models.CharField(verbose, max_length=6, choices=Precision.choices, default=Precision.DAY)


class Fund(ConfidentialRecord):
    """A trust fund that receives contributions for others' work (the Crime Prevention and
    Criminal Justice Fund receives them for the Terrorism Prevention Branch's projects)."""

    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=300)
    managed_by = models.ForeignKey(
        "directory.Organization", on_delete=models.PROTECT, related_name="funds", verbose_name=_("managed by")
    )
    description = models.TextField(_("description"), blank=True)

    history = HistoricalRecords()

    visibility_requires: ClassVar[tuple[str, ...]] = ("managed_by",)
    option_label_fields: ClassVar[tuple[str, ...]] = ("name",)
    option_label = staticmethod(str)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("funding:fund", args=[self.code])


class Contribution(ConfidentialRecord):
    """A pledge or a payment from a donor (a State or an organization) to a fund, a programme or
    project, or an activity; earmarked to a project or activity, or for general purposes."""

    class Kind(models.TextChoices):
        PLEDGE = "pledge", _("pledge")
        PAYMENT = "payment", _("payment")

    class Earmarking(models.TextChoices):
        EARMARKED = "earmarked", _("earmarked to a programme, project or activity")
        GENERAL = "general", _("general purpose")

    external_id = models.CharField(
        _("external identifier"),
        max_length=150,
        unique=True,
        null=True,
        blank=True,
        help_text=_("The key imports match on, so that importing a file again changes nothing."),
    )
    donor_state = models.ForeignKey(
        "geo.State",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="contributions",
        verbose_name=_("donor State"),
    )
    donor_organization = models.ForeignKey(
        "directory.Organization",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="contributions",
        verbose_name=_("donor organization"),
    )
    fund = models.ForeignKey(
        Fund,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="contributions",
        verbose_name=_("through the fund"),
    )
    programme = models.ForeignKey(
        "matrix.Programme",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="contributions",
        verbose_name=_("programme or project"),
    )
    activity = models.ForeignKey(
        "matrix.Activity",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="contributions",
        verbose_name=_("activity"),
    )
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, db_index=True)
    earmarking = models.CharField(_("earmarking"), max_length=10, choices=Earmarking.choices)
    amount = models.DecimalField(_("amount"), **AMOUNT)
    currency = models.CharField(_("currency"), max_length=3)
    date = models.DateField(_("date"), db_index=True)
    date_precision = _precision(_("date precision"))
    #: The last day the date may stand for (31 December for a year): what "as at" compares, so
    #: that a gift known only by its year is not counted before that year has ended.
    made_by = models.DateField(_("made by"), editable=False, db_index=True)
    fiscal_year = models.PositiveSmallIntegerField(_("fiscal year"), null=True, blank=True)
    settles = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payments",
        verbose_name=_("settles the pledge"),
        help_text=_("A payment may settle all or part of a pledge."),
    )
    iati_transaction = models.OneToOneField(
        "exchange.IatiTransaction",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contribution",
        verbose_name=_("IATI transaction it came from"),
    )
    note = models.TextField(_("note"), blank=True)

    # Versions are read by record and moment (`id`, `history_date`: core.history), never by
    # these fields; an index of each was written for every version an import keeps.
    history = HistoricalRecords(
        no_db_index=[
            "confidentiality",
            "owner",
            "external_id",
            "donor_state",
            "donor_organization",
            "fund",
            "programme",
            "activity",
            "kind",
            "date",
            "made_by",
            "settles",
            "iati_transaction",
        ]
    )

    #: A donor State's focal points and a donor organization's users read its contributions.
    visibility_state_field: ClassVar[str | None] = "donor_state"
    visibility_organization_field: ClassVar[str | None] = "donor_organization"
    #: A contribution to a record one may not see is not seen either: it would name it.
    visibility_requires: ClassVar[tuple[str, ...]] = ("fund", "programme", "activity", "donor_organization")

    class Meta:
        ordering = ["-date", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(donor_state__isnull=False, donor_organization__isnull=True)
                | Q(donor_state__isnull=True, donor_organization__isnull=False),
                name="contribution_one_donor",
            ),
            models.CheckConstraint(
                condition=Q(fund__isnull=False) | Q(programme__isnull=False) | Q(activity__isnull=False),
                name="contribution_has_recipient",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="contribution_amount_positive"),
            models.CheckConstraint(
                condition=~Q(earmarking="earmarked") | Q(programme__isnull=False) | Q(activity__isnull=False),
                name="contribution_earmarked_to_something",
            ),
        ]
        indexes = [
            models.Index(fields=["fund", "kind", "date"]),
            models.Index(fields=["programme", "kind"]),
            # A donor's confidential contributions (what its users see as their own, sums._live_ids):
            # without these, the database intersects the donor's with every confidential one.
            models.Index(
                fields=["donor_organization"],
                condition=Q(confidentiality="confidential"),
                name="contribution_donor_org_conf",
            ),
            models.Index(
                fields=["donor_state"],
                condition=Q(confidentiality="confidential"),
                name="contribution_donor_state_conf",
            ),
        ]

    def __str__(self) -> str:
        what = f"{self.get_kind_display()} of {self.amount:,.2f} {self.currency}"
        return f"{self.donor}: {what} ({self.date_display})"

    def get_absolute_url(self) -> str:
        return reverse("funding:contribution", args=[self.pk])

    @property
    def donor(self) -> object:
        return self.donor_state or self.donor_organization

    @property
    def recipient(self) -> object:
        """The most precise of what it was given to: the activity, else the programme, else the fund."""
        return self.activity or self.programme or self.fund

    @property
    def date_display(self) -> str:
        return format_partial(self.date, self.date_precision)

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.made_by = last_day(self.date, self.date_precision)
        super().save(*args, **kwargs)


def last_day(date: dt.date | str, precision: str) -> dt.date:
    day = dt.date.fromisoformat(date) if isinstance(date, str) else date
    return PartialDate(day, precision).last_day


class FundingNeed(ConfidentialRecord):
    """What a programme, project or phase needs, as its document states it (paragraphs 15–16)."""

    programme = models.ForeignKey(
        "matrix.Programme",
        on_delete=models.PROTECT,
        related_name="funding_needs",
        verbose_name=_("programme, project or phase"),
    )
    amount = models.DecimalField(_("amount needed"), **AMOUNT)
    currency = models.CharField(_("currency"), max_length=3)
    start = models.DateField(_("period start"), null=True, blank=True)
    start_precision = _precision(_("start precision"))
    end = models.DateField(_("period end"), null=True, blank=True)
    end_precision = _precision(_("end precision"))
    description = models.TextField(_("description"), blank=True)

    history = HistoricalRecords()

    visibility_requires: ClassVar[tuple[str, ...]] = ("programme",)

    class Meta:
        ordering = ["programme__title", "start"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="funding_need_positive")]

    def __str__(self) -> str:
        return f"{self.programme}: {self.amount:,.2f} {self.currency}"

    def get_absolute_url(self) -> str:
        return reverse("funding:need", args=[self.pk])

    @property
    def period_display(self) -> str:
        start = format_partial(self.start, self.start_precision)
        end = format_partial(self.end, self.end_precision)
        return f"{start or '…'} – {end or '…'}" if start or end else ""


class ExchangeRate(models.Model):
    """What one unit of `currency` was worth in `base` from `date` (UN operational rates of
    exchange are set monthly): kept with its source, like every fact."""

    currency = models.CharField(_("currency"), max_length=3)
    base = models.CharField(_("in currency"), max_length=3)
    date = models.DateField(_("valid from"))
    rate = models.DecimalField(_("value of one unit"), max_digits=24, decimal_places=10)
    source = models.TextField(_("source"))

    history = HistoricalRecords()
    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["currency", "-date"]
        constraints = [
            models.UniqueConstraint(fields=["currency", "base", "date"], name="unique_exchange_rate"),
            models.CheckConstraint(condition=Q(rate__gt=0), name="exchange_rate_positive"),
        ]

    def __str__(self) -> str:
        return f"1 {self.currency} = {self.rate} {self.base} from {self.date.isoformat()}"


class PublishedContribution(models.Model):
    """A donor's figure as a document published it (Table 1 of 2004), and its total: shown beside
    the figure computed from the records, never mixed with them."""

    fund = models.ForeignKey(Fund, on_delete=models.PROTECT, related_name="published_contributions")
    row = models.PositiveSmallIntegerField(_("row in the table"))
    label = models.CharField(_("as printed"), max_length=200)
    donor_state = models.ForeignKey(
        "geo.State", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    is_total = models.BooleanField(_("the table's total"), default=False)
    amount = models.DecimalField(_("amount"), **AMOUNT)
    currency = models.CharField(_("currency"), max_length=3)
    as_at = models.DateField(_("date of the document"))
    as_at_precision = _precision(_("precision of the date"))
    document = models.CharField(_("document"), max_length=100)
    source = models.TextField(_("source"))

    history = HistoricalRecords()
    visibility_requires: ClassVar[tuple[str, ...]] = ("fund",)
    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["document", "row"]
        constraints = [models.UniqueConstraint(fields=["document", "row"], name="unique_published_row")]

    def __str__(self) -> str:
        return f"{self.document}: {self.label} {self.amount} {self.currency}"


class FundingSum(models.Model):
    """A sum of contributions for one line of the funding views, for one audience.

    Derived (kept by `coopmatrix.funding.sums`, never edited), so that the funding gap and
    Table 1 read a few thousand rows instead of two million contributions. What a row sums is
    said by `by` and its three dimensions `d1`–`d3` (a programme, a fund, a donor, a State, a
    fiscal year) and `label` (a source); its audience by the contribution's own level and owner
    (0 unless confidential) and by the most restrictive level of the records it hangs on
    (`chain`, with their owner when that is confidential), as `visibility_q` would read them.
    """

    by = models.CharField(max_length=20)
    d1 = models.BigIntegerField()
    d2 = models.BigIntegerField()
    d3 = models.BigIntegerField()
    kind = models.CharField(max_length=10)
    currency = models.CharField(max_length=3)
    label = models.TextField()
    confidentiality = models.CharField(max_length=12)
    owner_id = models.BigIntegerField()
    chain = models.CharField(max_length=12)
    chain_owner_id = models.BigIntegerField()
    #: In the contribution's own currency (one currency per row where `currency` is given).
    amount = models.DecimalField(max_digits=24, decimal_places=2, default=0)
    #: In the reporting currency, each contribution at the rate of its date; those with no rate
    #: are left out of it and counted in `unconverted`.
    converted = models.DecimalField(max_digits=24, decimal_places=2, default=0)
    n = models.IntegerField(default=0)
    unconverted = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                # In the order a view asks: one view, an audience, then its lines.
                fields=[
                    "by",
                    "owner_id",
                    "chain_owner_id",
                    "confidentiality",
                    "chain",
                    "d1",
                    "d2",
                    "d3",
                    "kind",
                    "currency",
                    "label",
                ],
                # On PostgreSQL its index also carries `converted` (migration 0003): a view's lines
                # are read from the index alone.
                name="unique_funding_sum",
            )
        ]
        # "Is any rate missing?" is asked before every figure.
        indexes = [
            models.Index(fields=["by"], condition=Q(unconverted__gt=0), name="funding_sum_unconverted"),
        ]

    def __str__(self) -> str:
        return f"{self.by} {self.d1}/{self.d2}/{self.d3} {self.kind}: {self.converted}"


class CountedContribution(models.Model):
    """What a contribution last added to the kept sums, so that any change is summed as a difference;
    and whether it is summed at all (`kept`: False when its audience cannot be said by one owner,
    or when it belongs to a pledge paid beyond its amount; the funding views then read it from
    the records). Kept beside the contribution: its history should not record it."""

    contribution = models.OneToOneField(
        Contribution,
        primary_key=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="counted",
    )
    kept = models.BooleanField(default=True)
    chain = models.CharField(max_length=12)
    chain_owner_id = models.BigIntegerField(default=0)
    made_by = models.DateField(db_index=True)
    #: A payment settling a pledge lessens what the pledge still promises from this day, the
    #: later of the two dates.
    settles_from = models.DateField(null=True, db_index=True)
    counted_as = JSONField(default=dict)

    class Meta:
        # The few not summed are read from the records for every figure.
        indexes = [
            models.Index(fields=["kept"], condition=Q(kept=False), name="counted_contribution_not_kept")
        ]

    def __str__(self) -> str:
        return f"contribution {self.contribution_id} counted"
