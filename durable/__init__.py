"""The spec on a durable queue on Redis: one module per engine (shared/axes.py's `ENGINES`:
`durable.tasks` for Celery, `durable.<engine>_tasks` for arq, Dramatiq and taskiq), the seam
the apps enqueue through (`durable.queue`), what every engine's task shares (`durable.delivery`),
and the processes to run them.

The rest starts Redis and workers as child processes for the demo, the tests and the
reliability checks.
"""
