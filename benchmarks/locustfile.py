"""The clients of the load benchmark (bench_load.py): each user asks for one address, again and
again, with no pause. LOAD_PATH names it."""

import os

from locust import FastHttpUser, constant, task


class Reader(FastHttpUser):
    wait_time = constant(0)

    @task
    def ask(self) -> None:
        self.client.get(os.environ["LOAD_PATH"], name=os.environ.get("LOAD_NAME", "page"))
