"""The worker the suite runs: `durable.tasks`' app, with the `afterward.mailer` records also
written to the file `AFTERWARD_RECORDS` names, one `LEVEL name message` line each.

The contract tier reads clause 10's ERROR record there, as it reads a server's through the
logging configuration it gives the server; Celery sets up the worker's own logging first.
"""

import logging
import os

from celery.signals import after_setup_logger

from durable.tasks import celery_app

__all__ = ["celery_app"]


@after_setup_logger.connect
def _records(**_: object) -> None:
    path = os.environ.get("AFTERWARD_RECORDS")
    if not path:
        return
    handler = logging.FileHandler(path, encoding="utf-8")  # append mode: the pool's lines never interleave
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    logger = logging.getLogger("afterward.mailer")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
