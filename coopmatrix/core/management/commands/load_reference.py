from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from coopmatrix.core.importing import ImportFailed
from coopmatrix.core.reference import load_reference


class Command(BaseCommand):
    help = "Load or refresh the reference data (States, regions, organizations, instruments); all or nothing."

    def add_arguments(self, parser):
        parser.add_argument(
            "--data-dir", type=Path, help="Read every reference file from this folder instead."
        )

    def handle(self, *args, **options):
        try:
            stats = load_reference(options["data_dir"])
        except ImportFailed as exc:
            raise CommandError(f"Nothing was loaded; {len(exc.errors)} error(s):\n{exc}") from exc
        self.stdout.write(self.style.SUCCESS("Reference data loaded. " + stats.summary()))
