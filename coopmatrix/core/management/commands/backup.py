from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from coopmatrix.core.backup import BackupError, backup


class Command(BaseCommand):
    help = "Write a backup of the database and the media files to FILE (a tar; see README, Deploying)."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, **options):
        try:
            backup(options["file"], say=self.stdout.write)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
