from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from coopmatrix.core.backup import BackupError, restore


class Command(BaseCommand):
    help = (
        "Restore a backup made by `coopmatrix backup` into this site's (empty) database and media "
        "storage, then check that every table's rows and every history table are as in the backup."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--replace", action="store_true", help="Overwrite a database that already holds tables."
        )

    def handle(self, *args, **options):
        try:
            restore(options["file"], replace=options["replace"], say=self.stdout.write)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
