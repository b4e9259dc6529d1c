"""Litestar probe: `BackgroundTask(s)` on the returned `Response`, and on the route handler."""

from collections.abc import AsyncIterator
from typing import Annotated

from litestar import Litestar, Request, Response, get, post
from litestar.background_tasks import BackgroundTask, BackgroundTasks
from litestar.datastructures import UploadFile
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Stream

from conformance.probes.tasks import (HandledTaskFailure, async_task, dependency_task, flipped, handle,
                                       handled_failure, observe, ping, register_sync, upload_reader,
                                       with_recipe)


def dep(rid: str, request: Request) -> list[BackgroundTask]:
    return [BackgroundTask(*dependency_task(rid))] if request.query_params.get("dep") else []


@post("/tasks/{rid:str}", dependencies={"dep_tasks": Provide(dep, sync_to_thread=False)}, status_code=200)
async def tasks(rid: str, request: Request, dep_tasks: list[BackgroundTask]) -> Response[dict[str, str]]:
    found = list(dep_tasks)
    await handle(rid, request.query_params, lambda fn, *args: found.append(BackgroundTask(fn, *args)))
    return Response({"rid": rid}, background=BackgroundTasks(found))


@post("/stream/{rid:str}", status_code=200)
async def stream(rid: str, request: Request) -> Stream:
    found: list[BackgroundTask] = []
    await handle(rid, request.query_params, lambda fn, *args: found.append(BackgroundTask(fn, *args)))

    async def chunks() -> AsyncIterator[bytes]:
        for n in range(3):
            yield b"chunk %d\n" % n

    return Stream(chunks(), background=BackgroundTasks(found))


@post("/sync-endpoint/{rid:str}", status_code=200, sync_to_thread=True)
def sync_endpoint(rid: str, request: Request) -> Response[dict[str, str]]:
    found: list[BackgroundTask] = []
    register_sync(rid, request.query_params, lambda fn, *args: found.append(BackgroundTask(fn, *args)))
    return Response({"rid": rid}, background=BackgroundTasks(found))


Upload = Annotated[UploadFile, Body(media_type=RequestEncodingType.MULTI_PART)]


@post("/upload/{rid:str}", status_code=200)
async def upload(rid: str, request: Request, data: Upload) -> Response[dict[str, str]]:
    return Response({"rid": rid}, background=BackgroundTask(*upload_reader(rid, request.query_params, data)))


@get("/ping/{rid:str}")
async def ping_route(rid: str) -> dict[str, str]:
    return ping(rid)


@get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@post("/task-group/{rid:str}", status_code=200)
async def task_group(rid: str, request: Request) -> Response[dict[str, str]]:
    found: list[BackgroundTask] = []
    await handle(rid, request.query_params, lambda fn, *args: found.append(BackgroundTask(fn, *args)))
    grouped = not flipped("no_task_group")
    return Response({"rid": rid}, background=BackgroundTasks(found, run_in_task_group=grouped))


@post("/handler-background/{rid:str}", status_code=200,
      background=BackgroundTask(async_task, "handler-level", "handler", "mark"))
async def handler_background(rid: str) -> Response[dict[str, str]]:
    if flipped("no_response_background"):
        return Response({"rid": rid})
    return Response({"rid": rid}, background=BackgroundTask(async_task, rid, "response", "mark"))


def on_handled(request: Request, exc: HandledTaskFailure) -> Response[dict[str, str]]:
    return Response({"handled": handled_failure(exc)}, status_code=500)


app = observe(with_recipe(Litestar(route_handlers=[tasks, stream, sync_endpoint, upload, ping_route, health,
                                                   task_group, handler_background],
                                   exception_handlers={HandledTaskFailure: on_handled})))
