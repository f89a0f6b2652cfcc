from django.core.management.base import BaseCommand

from coopmatrix.core.saved_views import send_digests


class Command(BaseCommand):
    help = (
        "E-mail each subscriber whose saved view lists something new or changed since it last "
        "looked (at most once a day per view). The worker runs it daily (COOPMATRIX_SCHEDULE)."
    )

    def handle(self, *args, **options):
        self.stdout.write(f"Digests sent: {send_digests()}")
