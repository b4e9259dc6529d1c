"""FastAPI probe: injected `BackgroundTasks`, in the path operation and in dependencies.

Runs on every FastAPI release the version sets name: a route whose API a release lacks
(`Depends(scope=...)`, from 0.121.0) is left out, and its property is declared n/a there.
"""

import inspect
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import BackgroundTasks, Depends, FastAPI, Request, UploadFile
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.background import BackgroundTask

from conformance.probes.tasks import (HandledTaskFailure, async_task, cancel_after_response, dependency_task,
                                       flipped, handle, handled_failure, observe, ping, register_sync,
                                       upload_reader, with_recipe)
from shared.recorder import record



async def on_handled(request: Request, exc: HandledTaskFailure) -> JSONResponse:
    return JSONResponse({"handled": handled_failure(exc)}, status_code=500)


api = FastAPI(exception_handlers={HandledTaskFailure: on_handled})


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


@api.post("/upload/{rid}")
async def upload(rid: str, file: UploadFile, request: Request, background_tasks: BackgroundTasks):
    background_tasks.add_task(*upload_reader(rid, request.query_params, file))
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

if "scope" in inspect.signature(Depends).parameters:
    @api.post("/yield-dep/{rid}")
    async def yield_dep(rid: str, background_tasks: BackgroundTasks,
                        f: Annotated[None, Depends(function_scoped, scope=SCOPES[0])],
                        r: Annotated[None, Depends(request_scoped, scope=SCOPES[1])]):
        background_tasks.add_task(async_task, rid, "0", "mark")
        return {"rid": rid}


async def default_scoped(rid: str, background_tasks: BackgroundTasks):
    """A `yield` dependency as most code writes it: no scope; its exit code adds a task."""
    if flipped("cleanup_first"):
        record("dep_cleanup", rid, scope="default")
        background_tasks.add_task(async_task, rid, "exit", "mark")
    yield
    if not flipped("cleanup_first"):
        record("dep_cleanup", rid, scope="default")
        background_tasks.add_task(async_task, rid, "exit", "mark")


@api.post("/yield-exit/{rid}")
async def yield_exit(rid: str, background_tasks: BackgroundTasks,
                     d: Annotated[None, Depends(default_scoped)]):
    background_tasks.add_task(async_task, rid, "0", "mark")
    return {"rid": rid}


#: The same path operation behind a pass-through `@app.middleware("http")`, mounted at /mw.
behind_middleware = FastAPI()
behind_middleware.post("/tasks/{rid}", dependencies=[Depends(dep)])(tasks)


@behind_middleware.middleware("http")
async def pass_through(request: Request, call_next):
    return await call_next(request)


api.mount("/mw", cancel_after_response(behind_middleware) if flipped("mw_cancel") else behind_middleware)

app = observe(with_recipe(api))
