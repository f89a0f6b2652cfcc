"""`coopmatrix worker`: runs background jobs; start one or more on any machine that reaches the
database. Besides the jobs, each worker keeps its job's heartbeat, retries or fails the jobs of
workers that died, and starts the scheduled jobs when they fall due (core/jobs.py)."""

from django.utils.crypto import get_random_string
from django_tasks_db.management.commands import db_worker

from coopmatrix.core import jobs


class Command(db_worker.Command):
    help = "Run coopmatrix's background jobs (imports, exports, mailings) and its schedule."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--parent-pid",
            type=int,
            default=None,
            help="Stop when this process ends (coopmatrix serve starts a worker beside the web server).",
        )

    def handle(self, *args, **options):
        # The id is drawn when the process builds its parser: one per worker process.
        options["worker_id"] = options.get("worker_id") or get_random_string(32)
        jobs.start_worker_thread(options["worker_id"], options.pop("parent_pid"))
        return super().handle(*args, **options)
