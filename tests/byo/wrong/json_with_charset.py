"""Wrong: the answer's `Content-Type` carries a charset parameter, `application/json;
charset=utf-8` (breaks clause 1: `Content-Type: application/json`, as the spec writes it)."""

from fastapi.responses import JSONResponse

from tests.byo import notify_app as n


class CharsetJSONResponse(JSONResponse):
    media_type = "application/json; charset=utf-8"


n.answer = lambda: CharsetJSONResponse(n.ANSWER)
app = n.app
