"""Institution admin: actors and their tokens."""

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from functions.engine import auth
from functions.http import read_json, required_str
from governance.institutions import create_actor, list_actors


async def create(request: Request) -> JSONResponse:
    body = await read_json(request)
    name, role = required_str(body, "name"), required_str(body, "role")
    actor = await run_in_threadpool(
        lambda: create_actor(auth.institution_admin(request), name, role)
    )
    return JSONResponse(actor, status_code=201)


async def index(request: Request) -> JSONResponse:
    actors = await run_in_threadpool(lambda: list_actors(auth.institution_admin(request)))
    return JSONResponse({"actors": actors})
