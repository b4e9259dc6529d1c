"""Starlette: run every background task of a response, even after one of them raised.

Starlette's `BackgroundTasks` awaits its tasks in turn, and the first that raises ends the
loop: the tasks after it never run, and the exception reaches the server (uvicorn then
closes the keep-alive connection). Quart, whose tasks are asyncio tasks of their own, runs
the others. `ContinuingTasks` logs the task that raised and goes on to the next.
"""

import logging

from starlette.background import BackgroundTasks

logger = logging.getLogger(__name__)


class ContinuingTasks(BackgroundTasks):
    async def __call__(self) -> None:
        for task in self.tasks:
            try:
                await task()
            except Exception:
                logger.exception("background task %r failed; running the next", task.func)
