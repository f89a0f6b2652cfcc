from django.core.management.base import BaseCommand, CommandError

from coopmatrix.matrix import counts


class Command(BaseCommand):
    help = (
        "Count every activity again for the grid of counts (after changing records outside coopmatrix, "
        "e.g. in SQL). With --check, only report the cells whose kept count is wrong."
    )

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="Report differences; change nothing.")

    def handle(self, *args, **options):
        if options["check"]:
            drift = counts.drift()
            for key, (kept, actual) in sorted(drift.items())[:20]:
                rows_by, row, cols_by, col, *rest = key
                self.stdout.write(f"{rows_by} {row} × {cols_by} {col} {rest}: kept {kept}, records {actual}")
            if drift:
                raise CommandError(f"{len(drift)} grid cells differ from the records; run rebuild_counts")
            self.stdout.write("The grid counts agree with the records.")
            return
        self.stdout.write(f"{counts.rebuild()} activities counted.")
