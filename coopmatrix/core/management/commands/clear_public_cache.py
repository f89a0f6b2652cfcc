from django.core.management.base import BaseCommand, CommandError

from coopmatrix.core.public_cache import bump, generation


class Command(BaseCommand):
    help = (
        "Forget every answer kept for the public (after a change made outside coopmatrix, e.g. with "
        "psql): the data generation moves on. See README, Deploying."
    )

    def handle(self, *args, **options):
        before = generation()
        if before is None:
            raise CommandError("the data generation is missing: run `coopmatrix migrate` first")
        bump()
        self.stdout.write(f"Kept answers forgotten (data generation {before} → {generation()}).")
