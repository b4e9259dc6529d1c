"""Wrong: answers bad input with its JSON body as `text/plain` (breaks clause 8: the 422 answer is
the spec's JSON object)."""

import json

from fastapi import Request
from fastapi.responses import PlainTextResponse

from tests.byo import notify_app as n


async def refused(request: Request, error: n.InvalidInput) -> PlainTextResponse:
    body = {"error": "invalid_input", "field": error.field, "detail": error.detail}
    return PlainTextResponse(json.dumps(body), status_code=422)  # the mistake: JSON text, not JSON


n.app.exception_handlers[n.InvalidInput] = refused
app = n.app
