"""Quart: run a request's background tasks one after another, in the order they were added.

`add_background_task` starts each task at once, as an asyncio task of its own, so two tasks
of one request run at the same time and a failure stops nothing. `add_in_order` keeps the
request's tasks on `g` instead; a `teardown_request` hook hands the list to one background
task, which awaits each in turn and stops at the first that raises, as FastAPI, Starlette
and Litestar do. The tasks start once the view has returned, so they also see what the view
set in a ContextVar after adding them. Teardown runs even when the view raised or the client
hung up (Quart then cancels the view), so a task once added still runs, as in plain Quart.
"""

from collections.abc import Callable
from typing import Any

from quart import Quart, current_app, g


def add_in_order(func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    g.setdefault("ordered_tasks", []).append((func, args, kwargs))


async def run_in_order(tasks: list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]]) -> None:
    for func, args, kwargs in tasks:
        await current_app.ensure_async(func)(*args, **kwargs)


def keep_task_order(app: Quart) -> Quart:
    @app.teardown_request
    async def start_tasks_in_order(error: BaseException | None) -> None:
        tasks = g.pop("ordered_tasks", [])
        if tasks:
            current_app.add_background_task(run_in_order, tasks)

    return app
