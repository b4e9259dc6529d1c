"""The spec on a durable queue: a Celery app on a Redis broker, and the processes to run it.

`durable.tasks` is what the durable apps and the workers import; the rest starts Redis
and workers as child processes for the demo, the tests and the reliability checks.
"""
