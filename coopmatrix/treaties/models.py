"""The universal counter-terrorism instruments (12 in 2004, 19 today)."""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from coopmatrix.core.dates import Precision, format_partial
from coopmatrix.core.models import ConfidentialRecord


class Instrument(ConfidentialRecord):
    class Relation(models.TextChoices):
        AMENDS = "amends", _("amends")
        SUPPLEMENTS = "supplements", _("supplements")

    class EntryIntoForceRule(models.TextChoices):
        DAYS_AFTER_DEPOSIT = "days_after_deposit", _("a number of days after deposit")
        FIRST_DAY_SECOND_MONTH = "first_day_second_month", _("first day of the second month after deposit")
        ON_DEPOSIT = "on_deposit", _("on the date of deposit")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    short_title = models.CharField(_("short title"), max_length=120)
    title = models.TextField(_("title"))
    adopted = models.DateField(_("adopted"))
    adopted_precision = models.CharField(max_length=6, choices=Precision.choices, default=Precision.DAY)
    adopted_place = models.CharField(_("place of adoption"), max_length=100)
    opened_for_signature = models.DateField(_("opened for signature"), null=True, blank=True)
    entry_into_force = models.DateField(_("entry into force"), null=True, blank=True)
    depositary = models.CharField(_("depositary"), max_length=250)
    related_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="related_instruments"
    )
    relation = models.CharField(_("relation"), max_length=12, choices=Relation.choices, blank=True)
    treaty_series = models.CharField(_("UN Treaty Series / document"), max_length=200, blank=True)
    in_force_rule = models.CharField(
        _("entry into force for a State"), max_length=30, choices=EntryIntoForceRule.choices
    )
    in_force_days = models.PositiveSmallIntegerField(_("days after deposit"), null=True, blank=True)
    in_force_article = models.CharField(_("article setting the rule"), max_length=60, blank=True)
    table2_order = models.PositiveSmallIntegerField(
        _("row in Table 2 (2004)"),
        null=True,
        blank=True,
        help_text=_("Empty for instruments adopted since 2004."),
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["adopted", "code"]

    def __str__(self) -> str:
        return self.short_title

    def get_absolute_url(self) -> str:
        return reverse("treaties:instrument", args=[self.code])

    @property
    def adopted_display(self) -> str:
        return format_partial(self.adopted, self.adopted_precision)

    @property
    def in_force_rule_display(self) -> str:
        if self.in_force_rule == self.EntryIntoForceRule.DAYS_AFTER_DEPOSIT:
            return _("%(days)s days after deposit") % {"days": self.in_force_days}
        return str(self.get_in_force_rule_display())

    def in_force_for_state(self, deposited: dt.date) -> dt.date:
        """When the instrument takes effect for a State that deposits on `deposited`.

        Never before the instrument's own entry into force.
        """
        if self.in_force_rule == self.EntryIntoForceRule.DAYS_AFTER_DEPOSIT:
            effective = deposited + dt.timedelta(days=self.in_force_days or 0)
        elif self.in_force_rule == self.EntryIntoForceRule.FIRST_DAY_SECOND_MONTH:
            month = deposited.month + 2
            effective = dt.date(deposited.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)
        else:
            effective = deposited
        if self.entry_into_force and effective < self.entry_into_force:
            return self.entry_into_force
        return effective
