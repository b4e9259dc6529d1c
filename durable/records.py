"""The Celery worker the suite runs: `durable.tasks`' app, with the `afterward.mailer` records
also written to the file `AFTERWARD_RECORDS` names, one `LEVEL name message` line each.

The contract tier reads clause 10's ERROR record there, as it reads a server's through the
logging configuration it gives the server; Celery sets up the worker's own logging first.
"""

from celery.signals import after_setup_logger

from durable.delivery import attach_records
from durable.tasks import celery_app

__all__ = ["celery_app"]


@after_setup_logger.connect
def _records(**_: object) -> None:
    attach_records()
