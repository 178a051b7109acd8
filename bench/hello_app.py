"""The smallest Starlette app: the reference the engine's endpoints are compared with."""

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def hello(request: Request) -> JSONResponse:
    return JSONResponse({"hello": "world"})


def create_app() -> Starlette:
    """Entry point for `uvicorn --factory bench.hello_app:create_app`."""
    return Starlette(routes=[Route("/", hello)])
