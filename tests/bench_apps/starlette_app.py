"""Starlette's benchmark app whose tasks do extra work: each no-op task also adds up two
thousand numbers in a Python loop, about a tenth of a request's instructions. The
instruction tier's baseline check must catch it on the task endpoints, and only there."""

import bench.apps.starlette_app as original

WORK = 2000


def work() -> int:
    total = 0
    for n in range(WORK):
        total += n
    return total


async def busy_async() -> None:
    work()


def busy_sync() -> None:
    work()


# The routes look these names up in their module when a request comes in.
original.noop_async = busy_async
original.noop_sync = busy_sync
app = original.app
