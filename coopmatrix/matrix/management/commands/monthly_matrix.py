from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from coopmatrix.matrix import monthly


class Command(BaseCommand):
    help = "Write the monthly matrix (public records, as they stood at the end of the month) as PDF or XLSX."

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True, help="YYYY-MM")
        parser.add_argument("--by", choices=monthly.BY_CHOICES, default="country")
        parser.add_argument("--format", choices=("pdf", "xlsx"), default="pdf")
        parser.add_argument("-o", "--output", type=Path, required=True)
        parser.add_argument(
            "--basis",
            choices=tuple(monthly.BASES),
            default="records",
            help="records: as they stood at the month's end (history); period: today's records "
            "whose dates cover the month, for months before the records were kept",
        )
        parser.add_argument("--user", help="Build it with what this user may see (default: the public).")

    def handle(self, *args, **options):
        user = None
        if options["user"]:
            from django.contrib.auth import get_user_model

            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"no user {options['user']!r}")
        try:
            matrix = monthly.build(
                monthly.parse_month(options["month"]), options["by"], user, options["basis"]
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if options["format"] == "pdf":
            options["output"].write_bytes(monthly.as_pdf(matrix))
        else:
            with options["output"].open("wb") as handle:
                monthly.as_xlsx(matrix, handle)
        self.stdout.write(f"{matrix.title}: {len(matrix.groups)} groups written to {options['output']}")
