"""Quart: `app.add_background_task` (started at once, not after the response)."""

from quart import Quart, abort, request

from bench.apps.tasks import OK, counted, noop_async, noop_sync, notify, stamped, stats

api = Quart(__name__)


@api.get("/none")
async def none():
    return OK


@api.get("/async-noop")
async def async_noop():
    api.add_background_task(noop_async)
    return OK


@api.get("/sync-noop")
async def sync_noop():
    api.add_background_task(noop_sync)
    return OK


@api.get("/notify")
async def notify_route():
    api.add_background_task(notify)
    return OK


@api.get("/<kind>/<int:ms>")
async def slow(kind: str, ms: int):
    try:
        api.add_background_task(*counted(kind, ms, request.scope))
    except LookupError:
        abort(404)
    return OK


@api.get("/stats")
async def stats_route():
    return stats("reset" in request.args)


@api.get("/health")
async def health():
    return OK


app = stamped(api)
