from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from coopmatrix.core import spreadsheets
from coopmatrix.core.console import import_source
from coopmatrix.core.errors import Invalid
from coopmatrix.funding import actions

COLUMNS = ["currency", "base", "date", "rate", "source"]


class Command(BaseCommand):
    help = (
        "Import exchange rates from a CSV or XLSX file (currency, base, date, rate, source: one unit of "
        "the currency in the base, valid from the date); all rows or none, a rate kept again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--user", required=True, help="Whose rights the import uses (the secretariat).")
        parser.add_argument("--dry-run", action="store_true", help="Check and report; write nothing.")

    def handle(self, *args, **options):
        path = options["file"]
        user, content = import_source(path, options["user"])
        if not actions.may_keep_rates(user):
            raise CommandError("only the secretariat keeps exchange rates")
        try:
            rows = list(
                spreadsheets.read_rows(content, path.name, COLUMNS, COLUMNS, sheet="Rates", numbers=("rate",))
            )
        except spreadsheets.FileRefused as exc:
            raise CommandError(f"{path.name}: {exc}") from exc
        errors, cleaned = [], []
        for number, row in rows:
            try:
                cleaned.append(actions.clean_rate(row))
            except Invalid as exc:
                errors += [
                    f"{path.name}, row {number}, column {c!r}: {row.get(c, '')!r}: {r}"
                    for c, r in exc.errors.items()
                ]
        if errors:
            raise CommandError(f"{len(errors)} error(s); nothing was imported:\n" + "\n".join(errors))
        if not options["dry_run"]:
            with transaction.atomic():
                for fields in cleaned:
                    actions.save_rate(user, fields)
        verb = "Would import" if options["dry_run"] else "Imported"
        self.stdout.write(f"{verb} {len(cleaned)} exchange rates.")
