"""Fit the shutdown in the orchestrator's stop window: every grace a second shorter than the window.

`docker stop` sends SIGTERM and, 10 s later, SIGKILL; Kubernetes waits
`terminationGracePeriodSeconds` (30 s by default). A task still running at the SIGKILL is lost
whatever the server would have given it. Set every grace to the window less a second, and the
server (and the framework, for tasks that are its own) gives running tasks all the time the window
allows, then exits on its own before the SIGKILL:

    uvicorn frameworks.fastapi_app:app --timeout-graceful-shutdown 9      # docker; 29 for Kubernetes
    hypercorn frameworks.fastapi_app:app --graceful-timeout 9
    gunicorn ... --graceful-timeout 9                                      # its arbiter's SIGKILL

Quart's own tasks are awaited at lifespan shutdown for `BACKGROUND_TASK_SHUTDOWN_TIMEOUT` (5 s), a
setting of the app, below. A server with no grace to set gives running tasks none: no setting there
saves an `async def` task that is mid-send at SIGTERM (docs/reliability.md, "Stop windows").
"""

from quart import Quart

DOCKER, KUBERNETES = 10.0, 30.0  # each window, in seconds


def _within(app: Quart, window: float) -> Quart:
    app.config["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"] = window - 1
    return app


def docker_window(app: Quart) -> Quart:
    return _within(app, DOCKER)


def kubernetes_window(app: Quart) -> Quart:
    return _within(app, KUBERNETES)
