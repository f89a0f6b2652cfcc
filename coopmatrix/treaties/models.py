"""The universal counter-terrorism instruments (12 in 2004, 19 today)."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from coopmatrix.core.dates import Precision, format_partial
from coopmatrix.core.models import ConfidentialRecord
from coopmatrix.core.querysets import VisibleQuerySet


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

    option_label_fields: ClassVar[tuple[str, ...]] = ("short_title",)
    option_label = staticmethod(str)

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


class TreatyAction(ConfidentialRecord):
    """What a State did about an instrument, as the depositary records it, on the date of deposit."""

    class Action(models.TextChoices):
        SIGNATURE = "signature", _("signature")
        RATIFICATION = "ratification", _("ratification")
        ACCEPTANCE = "acceptance", _("acceptance")
        APPROVAL = "approval", _("approval")
        ACCESSION = "accession", _("accession")
        SUCCESSION = "succession", _("succession")
        DENUNCIATION = "denunciation", _("denunciation or withdrawal")
        DECLARATION = "declaration", _("declaration")
        RESERVATION = "reservation", _("reservation")
        DECLARATION_WITHDRAWN = "declaration_withdrawn", _("declaration withdrawn")
        RESERVATION_WITHDRAWN = "reservation_withdrawn", _("reservation withdrawn")
        OBJECTION = "objection", _("objection to a reservation or declaration")

    #: The ways of consenting to be bound: each makes the State a party.
    CONSENT: ClassVar[tuple[str, ...]] = ("ratification", "acceptance", "approval", "accession", "succession")
    #: Statements whose text matters (declarations, reservations, objections).
    STATEMENTS: ClassVar[tuple[str, ...]] = (
        "declaration",
        "reservation",
        "declaration_withdrawn",
        "reservation_withdrawn",
        "objection",
    )

    state = models.ForeignKey(
        "geo.State", verbose_name=_("State"), on_delete=models.PROTECT, related_name="treaty_actions"
    )
    instrument = models.ForeignKey(
        Instrument, verbose_name=_("instrument"), on_delete=models.PROTECT, related_name="actions"
    )
    action = models.CharField(_("action"), max_length=24, choices=Action.choices, db_index=True)
    deposited = models.DateField(_("date of the action (deposit)"), db_index=True)
    effective = models.DateField(
        _("takes effect for the State"),
        null=True,
        blank=True,
        help_text=_("Computed from the instrument's rule unless given with its own source."),
    )
    effective_source = models.TextField(
        _("source of the effective date"),
        blank=True,
        help_text=_("Filled only when the effective date is not the instrument's rule (an override)."),
    )
    text = models.TextField(_("text of the declaration or reservation"), blank=True)

    history = HistoricalRecords()

    #: A State's focal points read its confidential actions and record its actions.
    visibility_state_field: ClassVar[str | None] = "state"

    class Meta:
        ordering = ["state__name_en", "instrument__adopted", "deposited", "action"]
        constraints = [
            models.UniqueConstraint(
                fields=["state", "instrument", "action", "deposited"], name="unique_treaty_action"
            )
        ]
        indexes = [models.Index(fields=["instrument", "action", "deposited"])]

    def __str__(self) -> str:
        return f"{self.state} — {self.instrument}: {self.get_action_display()} ({self.deposited.isoformat()})"

    def get_absolute_url(self) -> str:
        return reverse("treaties:action", args=[self.pk])

    @property
    def is_consent(self) -> bool:
        return self.action in self.CONSENT

    def rule_effective(self) -> dt.date | None:
        """The date the instrument's own rule gives: consent takes effect by the rule, other
        actions on deposit (a denunciation's delay differs per treaty: give it with a source)."""
        if self.action in self.CONSENT:
            return self.instrument.in_force_for_state(self.deposited)
        return self.deposited

    def settle_effective(self) -> None:
        """Without a date given with its source, it takes effect as the instrument's rule says."""
        if not self.effective_source or self.effective is None:
            self.effective_source = ""
            self.effective = self.rule_effective()

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.settle_effective()
        super().save(*args, **kwargs)


class PublishedCount(models.Model):
    """A figure of participation as a document published it (Table 2 of the 2004 report):
    shown beside the figure computed from the records, never mixed with them."""

    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="published_counts")
    parties = models.PositiveIntegerField(_("number of parties"))
    after = models.DateField(_("consented after"), null=True, blank=True)
    parties_after = models.PositiveIntegerField(
        _("number that consented after that date"), null=True, blank=True
    )
    as_at = models.DateField(_("date of the document"))
    as_at_precision = models.CharField(max_length=6, choices=Precision.choices, default=Precision.DAY)
    document = models.CharField(_("document"), max_length=60)
    source = models.TextField(_("source"))

    history = HistoricalRecords()

    #: Seen only with the records it hangs on (core.querysets).
    visibility_requires: ClassVar[tuple[str, ...]] = ("instrument",)
    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["document", "instrument__table2_order"]
        constraints = [
            models.UniqueConstraint(fields=["instrument", "document"], name="unique_published_count")
        ]

    def __str__(self) -> str:
        return f"{self.instrument}: {self.parties} parties ({self.document})"
