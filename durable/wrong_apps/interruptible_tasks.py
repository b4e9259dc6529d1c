"""Wrong on purpose: the durable task as Celery runs it by default, for a worker (`-A` this module).

The same steps, without `finish_before_sigterm`: a pool process that gets SIGTERM (systemd's
default stop signals every process of the unit) leaves its delivery where it is, even
between the SMTP server's `250` and the done-mark, and the requeued message is sent again.
"""

from celery import Celery, Task

from durable.tasks import ROUNDS, SETTINGS, broker_url, deliver

celery_app = Celery("afterward", broker=broker_url())
celery_app.conf.update(SETTINGS)


# shared=False, as in durable.tasks: this app's task only.
@celery_app.task(name="afterward.notify", bind=True, max_retries=ROUNDS - 1, shared=False)
def notify(self: Task, email: str, sender: str, log: str | None = None) -> None:
    deliver(self, email, sender, log)  # the wrong line: no `with finish_before_sigterm():`
