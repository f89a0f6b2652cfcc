"""Keep the funding sums (`sums.py`) in step with the records they are made of, whichever door
changed them: a contribution; the fund, programme, activity or organization it hangs on (their
level, owner or links decide who reads it); an activity's States; an exchange rate."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from coopmatrix.directory.models import Organization
from coopmatrix.matrix import counts
from coopmatrix.matrix.models import Programme

from . import sums
from .models import Contribution, ExchangeRate, Fund

#: The fields of a record a contribution hangs on that change who reads the contribution or
#: where it is summed.
WATCHED = {
    Fund: ("confidentiality", "owner_id", "managed_by_id"),
    Programme: ("confidentiality", "owner_id", "organization_id", "parent_id"),
    Organization: ("confidentiality", "owner_id"),
}


def _hanging_on(model: type, pk: int) -> Q:
    if model is Fund:
        return Q(fund_id=pk)
    if model is Programme:
        return Q(programme_id=pk) | Q(activity__programme_id=pk)
    return Q(donor_organization_id=pk) | Q(programme__organization_id=pk) | Q(fund__managed_by_id=pk)


@receiver(post_save, sender=Contribution)
@receiver(post_delete, sender=Contribution)
def contribution_changed(sender: Any, instance: Contribution, **kwargs: Any) -> None:
    sums.changed([instance.pk, instance.settles_id])


@receiver(pre_save, sender=Fund)
@receiver(pre_save, sender=Programme)
@receiver(pre_save, sender=Organization)
def record_moving(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    if raw or instance.pk is None:
        return
    fields = WATCHED[sender]
    before = sender._default_manager.filter(pk=instance.pk).values_list(*fields).first()
    if before is not None and before != tuple(getattr(instance, f) for f in fields):
        hanging = Contribution.objects.filter(_hanging_on(sender, instance.pk))
        instance._funding_to_refresh = list(hanging.values_list("pk", flat=True))


@receiver(post_save, sender=Fund)
@receiver(post_save, sender=Programme)
@receiver(post_save, sender=Organization)
def record_moved(sender: Any, instance: Any, **kwargs: Any) -> None:
    sums.changed(getattr(instance, "_funding_to_refresh", []))
    instance._funding_to_refresh = []


def activities_counted(sender: Any, activity_ids: list[int], **kwargs: Any) -> None:
    """An activity changed (its level, programme or States): its contributions are summed anew."""
    given = Contribution.objects.filter(activity_id__in=activity_ids)
    sums.changed(given.values_list("pk", flat=True))


counts.activities_refreshed.connect(activities_counted, dispatch_uid="funding-sums-from-activities")


@receiver(pre_save, sender=ExchangeRate)
def rate_moving(sender: Any, instance: ExchangeRate, raw: bool = False, **kwargs: Any) -> None:
    if raw or instance.pk is None:
        return
    instance._funding_before = (
        ExchangeRate.objects.filter(pk=instance.pk).values_list("currency", "date").first()
    )


@receiver(post_save, sender=ExchangeRate)
@receiver(post_delete, sender=ExchangeRate)
def rate_changed(sender: Any, instance: ExchangeRate, **kwargs: Any) -> None:
    """A rate converts the contributions dated from its day for as long as rates stay valid."""
    valid = dt.timedelta(days=settings.COOPMATRIX_RATE_VALID_DAYS)
    touched = Q(currency=instance.currency, date__gte=instance.date, date__lte=instance.date + valid)
    before = getattr(instance, "_funding_before", None)
    if before:
        touched |= Q(currency=before[0], date__gte=before[1], date__lte=before[1] + valid)
    sums.changed(Contribution.objects.filter(touched).values_list("pk", flat=True))
