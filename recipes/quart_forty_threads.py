"""Quart: `def` tasks get 40 worker threads, as anyio gives FastAPI's and Starlette's.

Quart runs a `def` task (and a `def` view) with `run_sync`, in the event loop's default
executor: `min(32, cpus + 4)` threads, 6 on a 2-core machine. A blocking task beyond that
waits for a thread. Setting the loop's default executor when the app starts serving gives
it as many threads as anyio's default limiter has.
"""

import asyncio
from concurrent.futures import ThreadPoolExecutor

from quart import Quart

THREADS = 40  # anyio's default limiter: FastAPI's and Starlette's `def` tasks share 40


def forty_threads(app: Quart) -> Quart:
    @app.before_serving
    async def use_forty_threads() -> None:
        executor = ThreadPoolExecutor(THREADS, thread_name_prefix="tasks")
        asyncio.get_running_loop().set_default_executor(executor)

    return app
