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
        bars: dict[str, Progress] = {}

        def progress(step: str, done: int, total: int) -> None:
            # One bar per step: signatures packed, blocks of activities compared, pairs kept.
            if options["quiet_progress"]:
                return
            if step not in bars:
                if bars:
                    self.stderr.write("")
                self.stderr.write(f"{step}:")
                bars[step] = Progress(total, self.stderr._out)
            bars[step](done)

        result = engine.find_all(progress)
        if bars:
            self.stderr.write("")
        self.stdout.write(
            f"{result['activities']} activities checked: {result['pairs']} possible overlaps kept "
            f"({result['added']} new, {result['changed']} changed), {result['dropped']} no longer found "
            f"dropped ({time.monotonic() - started:.1f} s)."
        )
