"""Quart probe: `app.add_background_task`, from a `before_request` hook and from views."""

from collections.abc import AsyncIterator

from quart import Blueprint, Quart, current_app, g, request

from conformance.probes.tasks import (HandledTaskFailure, dependency_task, flipped, handle, handled_failure,
                                       observe, ping, recipe_part, register_sync, upload_reader,
                                       with_recipe)

bp = Blueprint("probe", __name__)


def add_task(fn, *args) -> None:  # noqa: ANN001
    current_app.add_background_task(fn, *args)


add = recipe_part("add", add_task)  # a recipe's way to add tasks, where one is applied


@bp.before_request
async def dep() -> None:
    if request.args.get("dep") and request.view_args and "rid" in request.view_args:
        if flipped("dep_last"):
            g.dep_task = dependency_task(request.view_args["rid"])
        else:
            add(*dependency_task(request.view_args["rid"]))


@bp.post("/tasks/<rid>")
async def tasks(rid: str):
    await handle(rid, request.args, add)
    if "dep_task" in g:
        add(*g.dep_task)
    return {"rid": rid}


@bp.post("/stream/<rid>")
async def stream(rid: str):
    await handle(rid, request.args, add)

    async def chunks() -> AsyncIterator[bytes]:
        for n in range(3):
            yield b"chunk %d\n" % n

    return chunks()


@bp.post("/sync-endpoint/<rid>")
def sync_endpoint(rid: str):
    later = lambda *task: g.setdefault("later", []).append(task)  # noqa: E731
    register_sync(rid, request.args, later if flipped("late") else add)
    return {"rid": rid}


@bp.after_request
async def register_later(response):
    for fn, *args in g.get("later", []):  # on the loop, where `add_background_task` works
        add(fn, *args)
    return response


@bp.post("/upload/<rid>")
async def upload(rid: str):
    files = await request.files
    add(*upload_reader(rid, request.args, files["file"]))
    return {"rid": rid}


@bp.get("/ping/<rid>")
async def ping_route(rid: str):
    return ping(rid)


@bp.app_errorhandler(HandledTaskFailure)
async def on_handled(error: HandledTaskFailure):
    return {"handled": handled_failure(error)}, 500


@bp.get("/health")
async def health():
    return {"status": "ok"}


quart_app = Quart(__name__)
if hasattr(quart_app.config, "from_prefixed_env"):  # Quart 0.17 on; before 0.19 nothing reads the timeout
    quart_app.config.from_prefixed_env()  # QUART_BACKGROUND_TASK_SHUTDOWN_TIMEOUT, for a run that flips it
quart_app.register_blueprint(bp)
app = observe(with_recipe(quart_app))
