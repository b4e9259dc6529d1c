"""Wrong: answers readiness at `/healthz` (breaks clause 7: `GET /health` answers 200)."""

from tests.byo import notify_app as n

n.app.router.routes[:] = [r for r in n.app.router.routes if getattr(r, "path", "") != "/health"]
n.app.get("/healthz")(n.health)
app = n.app
