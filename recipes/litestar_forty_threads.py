"""Litestar: `def` tasks get 40 worker threads, as anyio gives FastAPI's and Starlette's.

Litestar runs a `def` task in the event loop's default executor (unless
`litestar.concurrency.set_asyncio_executor` named another): `min(32, cpus + 4)` threads, 6
on a 2-core machine. `set_asyncio_executor` refuses to run inside a running loop, which is
where uvicorn imports the app, so a startup hook sets the loop's default executor instead.
"""

import asyncio
from concurrent.futures import ThreadPoolExecutor

from litestar import Litestar

THREADS = 40  # anyio's default limiter: FastAPI's and Starlette's `def` tasks share 40


async def use_forty_threads() -> None:
    executor = ThreadPoolExecutor(THREADS, thread_name_prefix="tasks")
    asyncio.get_running_loop().set_default_executor(executor)


def forty_threads(app: Litestar) -> Litestar:
    app.on_startup.append(use_forty_threads)  # or Litestar(..., on_startup=[use_forty_threads])
    return app
