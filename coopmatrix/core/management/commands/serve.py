"""`coopmatrix serve`: the local, one-command way (make run): the development web server and,
beside it, a worker for the background jobs, stopped with it."""

import os
import subprocess
import sys

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve coopmatrix on ADDRESS:PORT with a worker beside it (for a local run; see Deploying)."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, **options):
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "coopmatrix.cli",
                "worker",
                "--parent-pid",
                str(os.getpid()),
                "--verbosity",
                "0",
            ]
        )
        try:
            call_command("runserver", options["addrport"], use_reloader=False)
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()
