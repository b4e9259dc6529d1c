"""FastAPI probe: injected `BackgroundTasks`, in the path operation and in dependencies."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import BackgroundTasks, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.background import BackgroundTask

from conformance.probes.tasks import (async_task, dependency_task, flipped, handle, observe, ping,
                                       register_sync, with_recipe)
from shared.recorder import record

api = FastAPI()


async def dep(background_tasks: BackgroundTasks, rid: str, dep: bool = False) -> None:
    if dep:
        background_tasks.add_task(*dependency_task(rid))


@api.post("/tasks/{rid}", dependencies=[Depends(dep)])
async def tasks(rid: str, request: Request, background_tasks: BackgroundTasks):
    await handle(rid, request.query_params, background_tasks.add_task)
    if flipped("dep_last") and request.query_params.get("dep"):
        background_tasks.tasks.append(background_tasks.tasks.pop(0))
    return {"rid": rid}


@api.post("/stream/{rid}")
async def stream(rid: str, request: Request, background_tasks: BackgroundTasks):
    await handle(rid, request.query_params, background_tasks.add_task)

    async def chunks() -> AsyncIterator[bytes]:
        for n in range(3):
            yield b"chunk %d\n" % n

    return StreamingResponse(chunks())


@api.post("/sync-endpoint/{rid}")
def sync_endpoint(rid: str, request: Request, background_tasks: BackgroundTasks):
    register_sync(rid, request.query_params, background_tasks.add_task)
    return {"rid": rid}


@api.get("/ping/{rid}")
async def ping_route(rid: str):
    return ping(rid)


@api.get("/health")
async def health():
    return {"status": "ok"}


@api.post("/returned-background/{rid}")
async def returned_background(rid: str, background_tasks: BackgroundTasks):
    background_tasks.add_task(async_task, rid, "injected", "mark")
    if flipped("merge_background"):
        background_tasks.add_task(async_task, rid, "returned", "mark")
        return JSONResponse({"rid": rid}, background=background_tasks)
    return JSONResponse({"rid": rid}, background=BackgroundTask(async_task, rid, "returned", "mark"))


async def function_scoped(rid: str):
    yield
    record("dep_cleanup", rid, scope="function")


async def request_scoped(rid: str):
    yield
    record("dep_cleanup", rid, scope="request")


SCOPES = ("request", "function") if flipped("swap_scopes") else ("function", "request")


@api.post("/yield-dep/{rid}")
async def yield_dep(rid: str, background_tasks: BackgroundTasks,
                    f: Annotated[None, Depends(function_scoped, scope=SCOPES[0])],
                    r: Annotated[None, Depends(request_scoped, scope=SCOPES[1])]):
    background_tasks.add_task(async_task, rid, "0", "mark")
    return {"rid": rid}


app = observe(with_recipe(api))
