"""Wrong: answers 202 Accepted, as for queued work (breaks clause 1: `200`)."""

from fastapi.responses import JSONResponse

from tests.byo import notify_app as n


def answer() -> JSONResponse:
    return JSONResponse(n.ANSWER, status_code=202)


n.answer = answer
app = n.app
