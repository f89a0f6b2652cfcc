"""Keep what is derived from an activity (its reach, its grid counts) in step with it, whichever
door changed it: the API, a page, an import, the admin or a console session."""

from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.dispatch import receiver

from coopmatrix.directory.models import Organization
from coopmatrix.geo.models import State

from . import counts
from .models import Activity, ActivityProvider, ActivityReach, update_reach


@receiver(m2m_changed, sender=Activity.recipient_states.through)
@receiver(m2m_changed, sender=Activity.recipient_regions.through)
def recipients_changed(sender, instance, action, reverse, **kwargs):
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if reverse:
        # A State's or region's list of activities changed: recompute each activity concerned.
        for activity in Activity.objects.filter(pk__in=kwargs.get("pk_set") or []):
            update_reach(activity)
    else:
        update_reach(instance)


@receiver(post_save, sender=Activity)
@receiver(post_delete, sender=Activity)
def activity_changed(sender, instance, **kwargs):
    counts.changed([instance.pk])


@receiver(post_save, sender=ActivityProvider)
@receiver(post_delete, sender=ActivityProvider)
def provider_changed(sender, instance, **kwargs):
    counts.changed([instance.activity_id])


@receiver(m2m_changed, sender=Activity.thematic_areas.through)
def thematic_areas_changed(sender, instance, action, reverse, **kwargs):
    if not reverse:
        if action.startswith("post_"):
            counts.changed([instance.pk])
        return
    # An area's list of activities changed; a clear names none of them, so note them before.
    if action == "pre_clear":
        instance._counted_activities = list(instance.activities.values_list("pk", flat=True))
    elif action == "post_clear":
        counts.changed(getattr(instance, "_counted_activities", []))
    elif action.startswith("post_"):
        counts.changed(kwargs.get("pk_set") or [])


@receiver(pre_save, sender=State)
def state_moving(sender, instance, raw=False, **kwargs):
    """A State placed in another M49 region moves its activities' counts with it."""
    if raw or instance.pk is None:
        return
    before = State.objects.filter(pk=instance.pk).values_list("region_id", "subregion_id").first()
    if before and before != (instance.region_id, instance.subregion_id):
        activities = ActivityReach.objects.filter(state_id=instance.pk).values_list("activity_id", flat=True)
        instance._counts_to_refresh = list(activities)


@receiver(post_save, sender=State)
def state_moved(sender, instance, **kwargs):
    counts.changed(getattr(instance, "_counts_to_refresh", []))
    instance._counts_to_refresh = []


@receiver(pre_save, sender=Organization)
def organization_moving(sender, instance, raw=False, **kwargs):
    """A unit placed under another organization counts in its new parent's column."""
    if raw or instance.pk is None:
        return
    before = Organization.objects.filter(pk=instance.pk).values_list("parent_id", flat=True).first()
    if before != instance.parent_id:
        units, todo = set(), [instance.pk]
        children = Organization.objects.values_list("parent_id", "pk")
        below: dict[int, list[int]] = {}
        for parent, pk in children:
            below.setdefault(parent, []).append(pk)
        while todo:
            pk = todo.pop()
            if pk not in units:
                units.add(pk)
                todo.extend(below.get(pk, []))
        roles = ActivityProvider.objects.filter(organization_id__in=units)
        instance._counts_to_refresh = list(roles.values_list("activity_id", flat=True).distinct())


@receiver(post_save, sender=Organization)
def organization_moved(sender, instance, **kwargs):
    counts.changed(getattr(instance, "_counts_to_refresh", []))
    instance._counts_to_refresh = []
