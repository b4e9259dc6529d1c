"""The ceiling: bare ASGI, no framework. It sends the response, then runs the task:
`async def` tasks awaited on the loop, `def` tasks in asyncio's default thread pool."""

import asyncio
import json
from urllib.parse import parse_qs

from bench.apps.tasks import OK, counted, noop_async, noop_sync, notify, stamped, stats

BODY = json.dumps(OK).encode()
NOOPS = {"/async-noop": noop_async, "/sync-noop": noop_sync, "/notify": notify}


async def api(scope, receive, send):
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        return await send({"type": "lifespan.shutdown.complete"})
    path, body, task = scope["path"], BODY, None
    if path in NOOPS:
        task = (NOOPS[path],)
    elif path == "/stats":
        body = json.dumps(stats("reset" in parse_qs(scope["query_string"].decode()))).encode()
    elif path not in ("/none", "/health"):
        try:
            kind, ms = path.strip("/").split("/")
            task = counted(kind, int(ms), scope)
        except (LookupError, ValueError):
            return await respond(send, 404, b'{"detail":"Not Found"}')
    await respond(send, 200, body)
    if task and asyncio.iscoroutinefunction(task[0]):
        await task[0](*task[1:])
    elif task:
        await asyncio.get_running_loop().run_in_executor(None, task[0], *task[1:])


async def respond(send, status, body):
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]})
    await send({"type": "http.response.body", "body": body})


app = stamped(api)
