"""Wrong: refuses bad input with 400 Bad Request (breaks clause 8: `422`)."""

from fastapi import Request
from fastapi.responses import JSONResponse

from tests.byo import notify_app as n


async def invalid_input(request: Request, error: n.InvalidInput) -> JSONResponse:
    return JSONResponse(n.error_body(error), status_code=400)


n.app.exception_handlers[n.InvalidInput] = invalid_input
app = n.app
