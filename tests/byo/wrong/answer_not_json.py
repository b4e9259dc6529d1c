"""Wrong: answers the JSON text as `text/plain` (breaks clause 1: `Content-Type: application/json`)."""

import json

from fastapi.responses import PlainTextResponse

from tests.byo import notify_app as n


def answer() -> PlainTextResponse:
    return PlainTextResponse(json.dumps(n.ANSWER))


n.answer = answer
app = n.app
