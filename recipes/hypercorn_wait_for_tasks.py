"""Hypercorn: on SIGTERM, wait for running requests and their tasks, as uvicorn does.

Hypercorn gives a server's connections `graceful_timeout` (3 s) after SIGTERM, then cancels
them, and with them any task that runs after its response. uvicorn waits without bound
unless `--timeout-graceful-shutdown` is set. A Python config module for hypercorn:

    hypercorn frameworks.fastapi_app:app --config python:recipes.hypercorn_wait_for_tasks

`None` is no limit, as in uvicorn; a number of seconds bounds the wait instead.
"""

graceful_timeout = None
