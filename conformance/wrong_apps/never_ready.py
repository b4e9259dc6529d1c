"""Wrong: `GET /health` never answers 200 (breaks clause 7); the run must say so in one line."""

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route


async def health(request):
    return JSONResponse({"status": "starting"}, status_code=503)


app = Starlette(routes=[Route("/health", health)])
