import sys

from django.core.management.base import BaseCommand, CommandError

from ... import sums


class Command(BaseCommand):
    help = (
        "Sum every contribution again for the funding gap and Table 1 (after changing records outside "
        "coopmatrix, e.g. in SQL, or the reporting currency). With --check, only report the sums that "
        "disagree with the records."
    )

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="Report differences; change nothing.")

    def handle(self, *args, **options):
        if options["check"]:
            drift = sums.drift()
            for key, (kept, actual) in sorted(drift.items(), key=str)[:20]:
                self.stdout.write(f"{key}: kept {kept}, records {actual}")
            if drift:
                raise CommandError(
                    f"{len(drift)} funding sums differ from the records; run rebuild_funding_sums"
                )
            self.stdout.write("The funding sums agree with the records.")
            return

        def progress(done: int, total: int) -> None:
            sys.stderr.write(f"\r{done}/{total} contributions summed")

        self.stdout.write(f"{sums.rebuild(progress)} contributions summed.")
