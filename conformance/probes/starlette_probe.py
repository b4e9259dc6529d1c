"""Starlette probe: `BackgroundTasks` attached to the response with `background=`."""

from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.background import BackgroundTasks as StarletteBackgroundTasks
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Mount, Route

from conformance.probes.tasks import (HandledTaskFailure, cancel_after_response, dependency_task, flipped,
                                       handle, handled_failure, observe, ping, recipe_part, register_sync,
                                       upload_reader, with_recipe)

BackgroundTasks = recipe_part("tasks", StarletteBackgroundTasks)  # a recipe's class, where one is applied


async def tasks(request: Request) -> JSONResponse:
    rid, background_tasks = request.path_params["rid"], BackgroundTasks()
    if request.query_params.get("dep"):
        background_tasks.add_task(*dependency_task(rid))
    await handle(rid, request.query_params, background_tasks.add_task)
    return JSONResponse({"rid": rid}, background=background_tasks)


async def stream(request: Request) -> StreamingResponse:
    rid, background_tasks = request.path_params["rid"], BackgroundTasks()
    await handle(rid, request.query_params, background_tasks.add_task)

    async def chunks() -> AsyncIterator[bytes]:
        for n in range(3):
            yield b"chunk %d\n" % n

    return StreamingResponse(chunks(), background=background_tasks)


def sync_endpoint(request: Request) -> JSONResponse:
    rid, background_tasks = request.path_params["rid"], BackgroundTasks()
    register_sync(rid, request.query_params, background_tasks.add_task)
    return JSONResponse({"rid": rid}, background=background_tasks)


async def upload(request: Request) -> JSONResponse:
    rid, background_tasks = request.path_params["rid"], BackgroundTasks()
    form = await request.form()
    background_tasks.add_task(*upload_reader(rid, request.query_params, form["file"]))
    return JSONResponse({"rid": rid}, background=background_tasks)


async def ping_route(request: Request) -> JSONResponse:
    return JSONResponse(ping(request.path_params["rid"]))


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def on_handled(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"handled": handled_failure(exc)}, status_code=500)


async def pass_through(request: Request, call_next):
    return await call_next(request)


#: The same endpoint behind a pass-through `BaseHTTPMiddleware`, mounted at /mw.
behind_middleware = BaseHTTPMiddleware(Starlette(routes=[Route("/tasks/{rid}", tasks, methods=["POST"])]),
                                       dispatch=pass_through)

app = observe(with_recipe(Starlette(routes=[
    Mount("/mw", app=cancel_after_response(behind_middleware) if flipped("mw_cancel") else behind_middleware),
    Route("/tasks/{rid}", tasks, methods=["POST"]),
    Route("/stream/{rid}", stream, methods=["POST"]),
    Route("/sync-endpoint/{rid}", sync_endpoint, methods=["POST"]),
    Route("/upload/{rid}", upload, methods=["POST"]),
    Route("/ping/{rid}", ping_route),
    Route("/health", health),
], exception_handlers={HandledTaskFailure: on_handled})))
