"""Starlette's benchmark app whose tasks do extra work: each no-op task also serialises a
small JSON document a few times. The instruction tier's baseline check must catch it on the
task endpoints, and only there."""

import json

import bench.apps.starlette_app as original

WORK = [{"id": n, "ok": True} for n in range(20)]


async def busy_async() -> None:
    for _ in range(3):
        json.dumps(WORK)


def busy_sync() -> None:
    for _ in range(3):
        json.dumps(WORK)


# The routes look these names up in their module when a request comes in.
original.noop_async = busy_async
original.noop_sync = busy_sync
app = original.app
