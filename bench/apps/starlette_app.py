"""Starlette: a `BackgroundTask` attached to the response."""

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bench.apps.tasks import OK, counted, noop_async, noop_sync, notify, stamped, stats


async def none(request: Request):
    return JSONResponse(OK)


async def async_noop(request: Request):
    return JSONResponse(OK, background=BackgroundTask(noop_async))


async def sync_noop(request: Request):
    return JSONResponse(OK, background=BackgroundTask(noop_sync))


async def notify_route(request: Request):
    return JSONResponse(OK, background=BackgroundTask(notify))


async def slow(request: Request):
    try:
        task = BackgroundTask(*counted(request.path_params["kind"], request.path_params["ms"], request.scope))
    except LookupError:
        raise HTTPException(404) from None
    return JSONResponse(OK, background=task)


async def stats_route(request: Request):
    return JSONResponse(stats("reset" in request.query_params))


async def health(request: Request):
    return JSONResponse(OK)


api = Starlette(routes=[
    Route("/none", none),
    Route("/async-noop", async_noop),
    Route("/sync-noop", sync_noop),
    Route("/notify", notify_route),
    Route("/stats", stats_route),
    Route("/health", health),
    Route("/{kind}/{ms:int}", slow),
])
app = stamped(api)
