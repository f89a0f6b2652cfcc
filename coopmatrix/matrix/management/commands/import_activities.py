from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from coopmatrix.core.console import Progress, acting_as, import_source
from coopmatrix.matrix import importers


class Command(BaseCommand):
    help = "Import activities from the CSV/XLSX template; all rows or none, matched on external_id."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--user", required=True, help="Whose rights and organization the import uses.")
        parser.add_argument("--dry-run", action="store_true", help="Check and report; write nothing.")
        parser.add_argument(
            "--decimal-mark",
            choices=("auto", "point", "comma"),
            default="auto",
            help="How the file writes budgets: 1,234.56 (point), 1.234,56 (comma), or tell from the file.",
        )
        parser.add_argument(
            "--accept-readings",
            action="store_true",
            help="Import even when names were read by spelling (shown by --dry-run); without it such "
            "a file is refused, as a page asks for confirmation.",
        )

    def handle(self, *args, **options):
        path = options["file"]
        user, content = import_source(path, options["user"])
        try:
            total = sum(1 for _ in importers.read_rows(content, path.name, options["decimal_mark"]))
        except importers.FileRefused as exc:
            raise CommandError(f"{path.name}: {exc}; nothing was imported") from exc
        with transaction.atomic(), acting_as(user):
            preview = importers.check(user, content, path.name, Progress(total), options["decimal_mark"])
            self.stderr.write("")
            if preview.errors:
                lines = "\n".join(str(e) for e in preview.errors)
                raise CommandError(f"{len(preview.errors)} error(s); nothing was imported:\n{lines}")
            for note in preview.notes:
                self.stdout.write(f"Note: {note}")
            readings = [n for n in preview.notes if "check it before confirming" in n]
            if readings and not options["dry_run"] and not options["accept_readings"]:
                raise CommandError(
                    f"{len(readings)} name(s) were read by spelling (above); check them, then run again "
                    "with --accept-readings, or correct the file; nothing was imported"
                )
            if not options["dry_run"]:
                importers.write(preview)
        verb = "Would import" if options["dry_run"] else "Imported"
        self.stdout.write(
            f"{verb}: {preview.created} created, {preview.updated} updated, {preview.unchanged} unchanged."
        )
