"""gunicorn settings for the wsgi_app.py test child: `gunicorn -c gunicorn_conf.py wsgi_app:app`.

sitehost passes a site's `arguments` as they are (no %ASPNETCORE_PORT% expansion), so the port
sitehost hands over in $ASPNETCORE_PORT is read here. One gthread worker: a single worker process
(so every request meets the same per-process state, e.g. a stream waiting for its /release),
with threads so a /release is served while a stream waits. Everything else stays gunicorn's
default (keep-alive 2 s, worker timeout 30 s).

The master (the process sitehost starts and supervises) and every worker it forks append their
pid to ./pids, so the tests can check that none is left after sitehost stopped.
"""
import os

bind = "127.0.0.1:" + os.environ["ASPNETCORE_PORT"]
workers = 1
worker_class = "gthread"
threads = 4
pythonpath = os.path.dirname(os.path.abspath(__file__))  # where wsgi_app.py is
graceful_timeout = 3  # on SIGTERM: below sitehost's shutdown_time_limit (10 s by default)


def _append_pid(pid):
    with open("pids", "a") as f:  # the working directory is the site's physical_path
        f.write(f"{pid}\n")


def on_starting(server):  # in the master, before it binds
    _append_pid(os.getpid())


def post_fork(server, worker):  # in each worker, right after the fork
    _append_pid(os.getpid())
