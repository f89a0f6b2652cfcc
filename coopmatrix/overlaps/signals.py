"""Check an activity for possible overlaps whenever it changes, whichever door changed it: a
page, the API, an import, the admin or a console session."""

from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from coopmatrix.matrix.bulk import activities_created, activities_updated
from coopmatrix.matrix.models import Activity, ActivityProvider

from . import engine


@receiver(post_save, sender=Activity)
def activity_saved(sender, instance, raw=False, **kwargs):
    if not raw:
        engine.changed([instance.pk])


@receiver(post_save, sender=ActivityProvider)
@receiver(post_delete, sender=ActivityProvider)
def provider_saved(sender, instance, raw=False, **kwargs):
    if not raw:
        engine.changed([instance.activity_id])


@receiver(m2m_changed, sender=Activity.recipient_states.through)
@receiver(m2m_changed, sender=Activity.recipient_regions.through)
@receiver(m2m_changed, sender=Activity.thematic_areas.through)
@receiver(m2m_changed, sender=Activity.instruments.through)
def links_changed(sender, instance, action, reverse, pk_set=None, **kwargs):
    if not action.startswith("post_"):
        return
    if reverse:
        # A State's, region's or area's list of activities changed (a clear names none: the
        # activities are found again by the next full run).
        engine.changed(pk_set or [])
    else:
        engine.changed([instance.pk])


@receiver(activities_created)
@receiver(activities_updated)
def written_in_bulk(sender, pks, **kwargs):
    engine.changed(pks)
