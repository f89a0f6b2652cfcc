"""gunicorn's settings for coopmatrix: `gunicorn coopmatrix.wsgi --config python:coopmatrix.gunicorn`.

Each value can be changed from the environment (README, Deploying). The defaults suit a small
server behind a reverse proxy: a worker per core and one more, threads for slow clients.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", str(multiprocessing.cpu_count() + 1)))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# An export or an import preview may take a while; longer work goes to the background jobs.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = 30
# Up to this many requests, then a fresh worker: bounds what a slow leak could grow to.
# A worker is replaced after this many requests (a safeguard against slow leaks). The application is
# loaded once, before the workers are forked: a new worker starts in milliseconds instead of
# importing Django again for a second of CPU, which under load showed as the slowest answers.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "10000"))
max_requests_jitter = 1000
preload_app = os.environ.get("GUNICORN_PRELOAD", "true").lower() in ("1", "true", "yes", "on")
# The proxy's X-Forwarded-* headers are trusted from these addresses only.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# coopmatrix writes its own line per request (JSON, with the user's id): no access log here.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "warning")
