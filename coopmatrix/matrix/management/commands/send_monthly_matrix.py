from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from coopmatrix.matrix import monthly


class Command(BaseCommand):
    help = (
        "E-mail last month's matrix to every subscriber "
        "(the worker runs it early each month: COOPMATRIX_SCHEDULE)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--month", help="YYYY-MM (default: the month before this one)")

    def handle(self, *args, **options):
        today = timezone.localdate()
        try:
            month = (
                monthly.parse_month(options["month"]) if options["month"] else monthly.previous_month(today)
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        sent = monthly.send_to_subscribers(month)
        self.stdout.write(f"Monthly matrix for {month:%Y-%m} sent to {sent} subscriber(s).")
