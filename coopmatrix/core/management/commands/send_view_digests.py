from django.conf import settings
from django.core.mail import send_mail
from django.core.management.base import BaseCommand
from django.utils import timezone

from coopmatrix.core.models import SavedView
from coopmatrix.core.saved_views import results


class Command(BaseCommand):
    help = (
        "E-mail each subscriber whose saved view lists something new or changed since it last "
        "looked (at most once a day per view). Run it daily."
    )

    def handle(self, *args, **options):
        now = timezone.now()
        sent = 0
        views = SavedView.objects.select_related("user").filter(subscribed=True, user__is_active=True)
        for view in views:
            if view.last_sent and now - view.last_sent < timezone.timedelta(hours=23):
                continue
            found = results(view.user, view.path, view.query)
            if found is None:
                continue
            count, fingerprint = found
            if not view.fingerprint:
                # The first look: what is listed now is what the subscriber saw when saving.
                view.fingerprint, view.last_count = fingerprint, count
                view.save(update_fields=["fingerprint", "last_count"])
                continue
            if fingerprint == view.fingerprint or not view.user.email:
                continue
            before = view.last_count if view.last_count is not None else "?"
            send_mail(
                f"coopmatrix: your saved view “{view.name}” has changed",
                (
                    f"Your saved view “{view.name}” now lists {count} records ({before} when you were "
                    f"last told), and some of them were added, removed or changed.\n\n"
                    f"Open it: {settings.SITE_URL}{view.url}\n\n"
                    f"To stop these e-mails, untick “e-mail me” on {settings.SITE_URL}/me/views/."
                ),
                settings.DEFAULT_FROM_EMAIL,
                [view.user.email],
            )
            view.fingerprint, view.last_count, view.last_sent = fingerprint, count, now
            view.save(update_fields=["fingerprint", "last_count", "last_sent"])
            sent += 1
        self.stdout.write(f"Digests sent: {sent}")
