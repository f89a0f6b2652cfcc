import datetime as dt
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from coopmatrix.funding import exporters
from coopmatrix.funding.models import Contribution
from coopmatrix.funding.table1 import table1


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"--as-at: {text!r} is not a date (YYYY-MM-DD)") from exc


class Command(BaseCommand):
    help = (
        "Table 1: contributions by donor to a fund, programme or activity as at a date, sorted by "
        "value, with the total, beside the published figures."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--recipient", required=True, help="fund:<code>, programme:<code> or activity:<number>"
        )
        parser.add_argument("--as-at", required=True, help="YYYY-MM-DD")
        parser.add_argument("--kind", choices=Contribution.Kind.values, default=Contribution.Kind.PAYMENT)
        parser.add_argument("--format", choices=("csv", "xlsx", "pdf"), default="csv")
        parser.add_argument(
            "-o", "--output", type=Path, help="File to write (CSV: standard output if omitted)"
        )
        parser.add_argument("--user", help="Count with what this user may see (default: the public).")

    def handle(self, *args, **options):
        from coopmatrix.funding.table1 import recipient

        as_at = _date(options["as_at"])
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"--user: no user {options['user']!r}")
        try:
            target = recipient(options["recipient"], user)
        except ValueError as exc:
            raise CommandError(f"--recipient: {exc}") from exc
        table = table1(Contribution.objects.visible_to(user), target, as_at, options["kind"], user=user)
        if table.missing:
            raise CommandError("no total can be given:\n" + "\n".join(str(m) for m in table.missing))
        who = user.get_username() if user else "console (public records)"
        fmt, output = options["format"], options["output"]
        if fmt == "csv":
            text = exporters.table1_csv(table)
            if output:
                output.write_text(text, encoding="utf-8")
            else:
                self.stdout.write(text, ending="")
            return
        if output is None:
            raise CommandError(f"-o FILE is required for {fmt}")
        content = exporters.table1_xlsx(table, who) if fmt == "xlsx" else exporters.table1_pdf(table, who)
        output.write_bytes(content)
        self.stdout.write(f"Wrote {output}")
