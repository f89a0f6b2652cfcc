"""What an IATI file says of an activity beyond the matrix's own fields, kept beside it.

The matrix's activity holds what coopmatrix works with (title, providers, States, areas, dates,
status); an `IatiRecord` keeps the rest as the publisher gave it (every language of the title and
descriptions, the regions and sectors not mapped, related activities, documents, contacts), with
its budgets and transactions as rows of their own (the funding records read them). All of it is
seen only with its activity, and every change is kept.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from coopmatrix.core.fields import JSONField
from coopmatrix.core.querysets import VisibleQuerySet


class IatiRecord(models.Model):
    activity = models.OneToOneField("matrix.Activity", on_delete=models.CASCADE, related_name="iati")
    identifier = models.CharField(_("IATI identifier"), max_length=150, unique=True)
    file = models.CharField(_("imported from"), max_length=255)
    version = models.CharField(_("IATI version of the file"), max_length=10)
    last_updated = models.DateTimeField(_("last updated by the publisher"), null=True, blank=True)
    language = models.CharField(_("default language"), max_length=10, blank=True)
    default_currency = models.CharField(_("default currency"), max_length=3, blank=True)
    reporting_org = JSONField(_("reporting organisation"), default=dict)
    titles = JSONField(_("titles"), default=dict)
    descriptions = JSONField(_("descriptions"), default=list)
    participating = JSONField(_("participating organisations"), default=list)
    status = models.CharField(_("IATI activity status"), max_length=2, blank=True)
    countries = JSONField(_("recipient countries as given"), default=list)
    regions = JSONField(_("recipient regions as given"), default=list)
    sectors = JSONField(_("sectors as given"), default=list)
    related = JSONField(_("related activities"), default=list)
    documents = JSONField(_("documents"), default=list)
    contacts = JSONField(_("contacts"), default=list)
    notes = JSONField(_("notes made when read"), default=list)
    imported = models.DateTimeField(_("imported"), auto_now=True)

    # Versions are read by record and moment (core.history): an index of the activity or the
    # identifier, written for every version an import keeps, served no query.
    history = HistoricalRecords(no_db_index=["activity", "identifier"])

    #: Seen only with the records it hangs on (core.querysets).
    visibility_requires: ClassVar[tuple[str, ...]] = ("activity",)
    objects = VisibleQuerySet.as_manager()

    class Meta:
        verbose_name = _("IATI record")

    def __str__(self) -> str:
        return self.identifier


class IatiBudget(models.Model):
    record = models.ForeignKey(IatiRecord, on_delete=models.CASCADE, related_name="budgets")
    type = models.CharField(_("type"), max_length=2)
    status = models.CharField(_("status"), max_length=2)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    value = models.DecimalField(_("value"), max_digits=28, decimal_places=10)
    currency = models.CharField(_("currency"), max_length=3)
    value_date = models.DateField(_("value date"), null=True, blank=True)

    # Versions are found by their own key and moment, never by record: an index of it, written
    # for every version an import keeps, served no query.
    history = HistoricalRecords(no_db_index=["record"])
    visibility_requires: ClassVar[tuple[str, ...]] = ("record",)
    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]  # as the file lists them

    def __str__(self) -> str:
        return f"{self.value} {self.currency} ({self.period_start} to {self.period_end})"


class IatiTransaction(models.Model):
    """A commitment, disbursement, expenditure or incoming funds, as the publisher reported it."""

    record = models.ForeignKey(IatiRecord, on_delete=models.CASCADE, related_name="transactions")
    ref = models.CharField(_("reference"), max_length=200, blank=True)
    type = models.CharField(_("type"), max_length=2)
    date = models.DateField(_("date"))
    value = models.DecimalField(_("value"), max_digits=28, decimal_places=10)
    currency = models.CharField(_("currency"), max_length=3)
    value_date = models.DateField(_("value date"), null=True, blank=True)
    description = JSONField(_("description"), default=dict)
    provider = JSONField(_("provider organisation"), default=dict)
    receiver = JSONField(_("receiver organisation"), default=dict)

    # Versions are found by their own key and moment, never by record: an index of it, written
    # for every version an import keeps, served no query.
    history = HistoricalRecords(no_db_index=["record"])
    visibility_requires: ClassVar[tuple[str, ...]] = ("record",)
    objects = VisibleQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]  # as the file lists them

    def __str__(self) -> str:
        return f"{self.type} {self.value} {self.currency} on {self.date}"
