"""Wrong on purpose: the durable task without its done-marks, for a worker (`-A` this module).

Every delivery of a message runs every step again: a redelivered notification whose
e-mail already went out is sent twice.
"""

import asyncio

from celery import Celery

from durable.tasks import SETTINGS, broker_url
from shared.logwriter import write_log
from shared.mailer import write_notification, write_notification_async

celery_app = Celery("afterward", broker=broker_url())
celery_app.conf.update(SETTINGS)


# shared=False: Celery would otherwise register this task in every app, durable.tasks' too, and
# which of the two same-named tasks an app ends up with would depend on a set's order.
@celery_app.task(name="afterward.notify", bind=True, shared=False)
def notify(self, email: str, sender: str, log: str | None = None) -> None:
    if log:
        write_log(log)
    if sender == "async":
        asyncio.run(write_notification_async(email))
    else:
        write_notification(email)
