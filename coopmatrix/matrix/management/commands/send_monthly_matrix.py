import io

from django.core.mail import EmailMessage
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from coopmatrix.matrix import monthly
from coopmatrix.matrix.models import MonthlyMatrixSubscription


class Command(BaseCommand):
    help = "E-mail last month's matrix to every subscriber (run it from cron early each month)."

    def add_arguments(self, parser):
        parser.add_argument("--month", help="YYYY-MM (default: the month before this one)")

    def handle(self, *args, **options):
        today = timezone.localdate()
        try:
            month = (
                monthly.parse_month(options["month"])
                if options["month"]
                else (today.replace(day=1) - timezone.timedelta(days=1)).replace(day=1)
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        sent = 0
        subscriptions = MonthlyMatrixSubscription.objects.select_related("user").filter(user__is_active=True)
        for subscription in subscriptions.exclude(last_sent_month=month):
            user = subscription.user
            if not user.email:
                continue
            matrix = monthly.build(month, subscription.by, user)
            name = f"monthly-matrix-{month:%Y-%m}-{subscription.by}.{subscription.format}"
            if subscription.format == "pdf":
                content, mime = monthly.as_pdf(matrix), "application/pdf"
            else:
                buffer = io.BytesIO()
                monthly.as_xlsx(matrix, buffer)
                content, mime = (
                    buffer.getvalue(),
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                )
            message = EmailMessage(
                matrix.title,
                f"{matrix.title}\nHighest confidentiality inside: {matrix.highest}.",
                to=[user.email],
            )
            message.attach(name, content, mime)
            message.send()
            subscription.last_sent_month = month
            subscription.save(update_fields=["last_sent_month"])
            sent += 1
        self.stdout.write(f"Monthly matrix for {month:%Y-%m} sent to {sent} subscriber(s).")
