import datetime as dt
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from coopmatrix.geo.models import Region
from coopmatrix.treaties import exporters, participation
from coopmatrix.treaties.models import TreatyAction


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"{text!r} is not a date (YYYY-MM-DD)") from exc


class Command(BaseCommand):
    help = (
        "Table 2: parties per universal instrument as at a date, and how many consented strictly after "
        "another, from the treaty actions recorded, beside the published figures."
    )

    def add_arguments(self, parser):
        parser.add_argument("--as-at", required=True, help="YYYY-MM-DD")
        parser.add_argument("--after", default="2001-09-11", help="YYYY-MM-DD (default 2001-09-11)")
        parser.add_argument("--instruments", choices=participation.INSTRUMENT_SETS, default="2004")
        parser.add_argument("--basis", choices=participation.BASES, default="deposit")
        parser.add_argument("--region", type=int, help="M49 code of a region or sub-region")
        parser.add_argument("--format", choices=("csv", "xlsx", "pdf"), default="csv")
        parser.add_argument(
            "-o", "--output", type=Path, help="File to write (CSV: standard output if omitted)"
        )
        parser.add_argument("--user", help="Count with what this user may see (default: the public).")

    def handle(self, *args, **options):
        as_at, after = _date(options["as_at"]), _date(options["after"])
        if after >= as_at:
            raise CommandError("--after must be before --as-at")
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"no user {options['user']!r}")
        area = None
        if options["region"] is not None:
            area = Region.objects.filter(m49=options["region"]).first()
            if area is None:
                raise CommandError(f"--region: no region with M49 code {options['region']}")
        table = participation.table2(
            TreatyAction.objects.visible_to(user),
            as_at,
            after,
            options["instruments"],
            options["basis"],
            area,
            user=user,
        )
        who = user.get_username() if user else "console (public records)"
        fmt, output = options["format"], options["output"]
        if fmt == "csv":
            text = exporters.table2_csv(table)
            if output:
                output.write_text(text, encoding="utf-8")
            else:
                self.stdout.write(text, ending="")
            return
        if output is None:
            raise CommandError(f"-o FILE is required for {fmt}")
        content = exporters.table2_xlsx(table, who) if fmt == "xlsx" else exporters.table2_pdf(table, who)
        output.write_bytes(content)
        self.stdout.write(f"Wrote {output}")
