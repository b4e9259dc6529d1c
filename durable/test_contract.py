"""The contract tier on the durable apps: the same tests, with `live` and `fresh_live` from
durable/conftest.py (Redis, a Celery worker, the framework's durable twin)."""

from conformance.test_contract import *  # noqa: F403 (every contract test, collected here again)
