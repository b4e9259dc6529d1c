"""Wrong on purpose: FastAPI's durable app whose broker connection waits for a reply without end.

kombu's Redis transport has no read time-out unless one is set (`socket_timeout`); this app
drops the one `durable.tasks` sets, keeping the connect time-out. A broker that accepts and
never answers then holds the request, and a thread of the pool, for good.
"""

from durable.tasks import celery_app
from frameworks.fastapi_durable_app import app

__all__ = ["app"]

celery_app.conf.broker_transport_options = {**celery_app.conf.broker_transport_options,
                                            "socket_timeout": None}  # the wrong line
