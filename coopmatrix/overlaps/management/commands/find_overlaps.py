import time

from django.core.management.base import BaseCommand

from coopmatrix.core.console import Progress
from coopmatrix.overlaps import engine


class Command(BaseCommand):
    help = (
        "Find every possible overlap between the matrix's activities again (after changing records "
        "outside coopmatrix, or the weights or threshold). Safe to run again: pairs are kept by their "
        "two activities, verdicts are kept, and pairs no longer found that nobody reviewed are dropped."
    )

    def add_arguments(self, parser):
        parser.add_argument("--quiet-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, **options):
        started = time.monotonic()
        bar = None

        def progress(done: int, total: int) -> None:
            nonlocal bar
            if options["quiet_progress"]:
                return
            bar = bar or Progress(total, self.stderr._out)
            bar(done)

        result = engine.find_all(progress)
        if bar:
            self.stderr.write("")
        self.stdout.write(
            f"{result['activities']} activities checked: {result['pairs']} possible overlaps kept, "
            f"{result['dropped']} no longer found dropped ({time.monotonic() - started:.1f} s)."
        )
