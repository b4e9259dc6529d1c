"""FastAPI: `BackgroundTasks` injected into the path operation."""

from fastapi import BackgroundTasks, FastAPI, HTTPException, Request

from bench.apps.tasks import OK, counted, noop_async, noop_sync, notify, stamped, stats

api = FastAPI()


@api.get("/none")
async def none():
    return OK


@api.get("/async-noop")
async def async_noop(background_tasks: BackgroundTasks):
    background_tasks.add_task(noop_async)
    return OK


@api.get("/sync-noop")
async def sync_noop(background_tasks: BackgroundTasks):
    background_tasks.add_task(noop_sync)
    return OK


@api.get("/notify")
async def notify_route(background_tasks: BackgroundTasks):
    background_tasks.add_task(notify)
    return OK


@api.get("/{kind}/{ms}")
async def slow(kind: str, ms: int, request: Request, background_tasks: BackgroundTasks):
    try:
        background_tasks.add_task(*counted(kind, ms, request.scope))
    except LookupError:
        raise HTTPException(404) from None
    return OK


@api.get("/stats")
async def stats_route(reset: bool = False):
    return stats(reset)


@api.get("/health")
async def health():
    return OK


app = stamped(api)
