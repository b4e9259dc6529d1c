"""Litestar: a `BackgroundTask` attached to the returned `Response`."""

from litestar import Litestar, Request, Response, get
from litestar.background_tasks import BackgroundTask
from litestar.exceptions import NotFoundException

from bench.apps.tasks import OK, counted, noop_async, noop_sync, notify, stamped, stats


@get("/none")
async def none() -> dict[str, bool]:
    return OK


@get("/async-noop")
async def async_noop() -> Response[dict[str, bool]]:
    return Response(OK, background=BackgroundTask(noop_async))


@get("/sync-noop")
async def sync_noop() -> Response[dict[str, bool]]:
    return Response(OK, background=BackgroundTask(noop_sync))


@get("/notify")
async def notify_route() -> Response[dict[str, bool]]:
    return Response(OK, background=BackgroundTask(notify))


@get("/{kind:str}/{ms:int}")
async def slow(kind: str, ms: int, request: Request) -> Response[dict[str, bool]]:
    try:
        task = BackgroundTask(*counted(kind, ms, request.scope))
    except LookupError:
        raise NotFoundException() from None
    return Response(OK, background=task)


@get("/stats")
async def stats_route(reset: bool = False) -> dict:
    return stats(reset)


@get("/health")
async def health() -> dict[str, bool]:
    return OK


app = stamped(Litestar(route_handlers=[none, async_noop, sync_noop, notify_route, slow, stats_route, health]))
