"""Wrong: answers 422 with FastAPI's usual `detail` member only (breaks clause 8: the `error`, `field` and
`detail` members)."""

from tests.byo import notify_app as n


def error_body(error: n.InvalidInput) -> dict[str, str]:
    return {"detail": f"{error.field}: {error.detail}"}


n.error_body = error_body
app = n.app
