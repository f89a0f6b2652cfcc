from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from coopmatrix.core.console import Progress, acting_as, import_source
from coopmatrix.directory import importers


class Command(BaseCommand):
    help = (
        "Import organizations, memberships and contacts from the directory template (XLSX with its "
        "sheets, or one CSV); all rows or none; an entry matching one already kept is merged into it."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--user", required=True, help="Whose rights the import uses.")
        parser.add_argument("--dry-run", action="store_true", help="Check and report; write nothing.")

    def handle(self, *args, **options):
        path = options["file"]
        user, content = import_source(path, options["user"])
        progress = Progress(max(content.count(b"\n"), 1) if not content.startswith(b"PK") else 1)
        run = importers.check if options["dry_run"] else importers.import_file
        with acting_as(user):
            preview = run(user, content, path.name, progress=lambda n: progress(min(n, progress.total)))
        self.stderr.write("")
        if preview.errors:
            lines = "\n".join(str(e) for e in preview.errors)
            raise CommandError(f"{len(preview.errors)} error(s); nothing was imported:\n{lines}")
        for note in preview.notes:
            self.stdout.write(note)
        verb = "Would import" if options["dry_run"] else "Imported"
        self.stdout.write(
            f"{verb}: {preview.created} created, {preview.updated} updated, {preview.unchanged} unchanged."
        )
