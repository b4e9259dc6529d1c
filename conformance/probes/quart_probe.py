"""Quart probe: `app.add_background_task`, from a `before_request` hook and from views."""

from collections.abc import AsyncIterator

from quart import Blueprint, Quart, current_app, request

from conformance.probes.tasks import dependency_task, handle, observe, ping, register_sync

bp = Blueprint("probe", __name__)


@bp.before_request
async def dep() -> None:
    if request.args.get("dep") and request.view_args and "rid" in request.view_args:
        current_app.add_background_task(*dependency_task(request.view_args["rid"]))


@bp.post("/tasks/<rid>")
async def tasks(rid: str):
    await handle(rid, request.args, current_app.add_background_task)
    return {"rid": rid}


@bp.post("/stream/<rid>")
async def stream(rid: str):
    await handle(rid, request.args, current_app.add_background_task)

    async def chunks() -> AsyncIterator[bytes]:
        for n in range(3):
            yield b"chunk %d\n" % n

    return chunks()


@bp.post("/sync-endpoint/<rid>")
def sync_endpoint(rid: str):
    register_sync(rid, request.args, current_app.add_background_task)
    return {"rid": rid}


@bp.get("/ping/<rid>")
async def ping_route(rid: str):
    return ping(rid)


@bp.get("/health")
async def health():
    return {"status": "ok"}


quart_app = Quart(__name__)
quart_app.register_blueprint(bp)
app = observe(quart_app)
