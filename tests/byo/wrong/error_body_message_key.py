"""Wrong: calls the explanation `message` (breaks clause 8: the 422 body's `detail`)."""

from tests.byo import notify_app as n


def error_body(error: n.InvalidInput) -> dict[str, str]:
    return {"error": "invalid_input", "field": error.field, "message": error.detail}


n.error_body = error_body
app = n.app
