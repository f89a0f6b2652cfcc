"""Keep each activity's reach in step with its recipients, whichever door changed them."""

from django.db.models.signals import m2m_changed
from django.dispatch import receiver

from .models import Activity, update_reach


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
