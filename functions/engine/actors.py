"""Institution admin: actors and their tokens."""

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from functions.bodies import NewActor
from functions.engine import auth
from functions.http import read_json
from governance.approvals import read_reason
from governance.institutions import create_actor, list_actors, reissue_token, revoke_actor
from kernel.bodies import parse

MAX_REASON = 200


async def create(request: Request) -> JSONResponse:
    asked = parse(NewActor, await read_json(request))
    actor = await run_in_threadpool(
        lambda: create_actor(auth.institution_admin(request), asked.name, asked.role)
    )
    return JSONResponse(actor, status_code=201)


def index(request: Request) -> JSONResponse:
    return JSONResponse({"actors": list_actors(auth.institution_admin(request))})


def _reason(body: dict) -> str:
    return read_reason(body, required=False, limit=MAX_REASON)


async def revoke(request: Request) -> JSONResponse:
    reason, actor_id = _reason(await read_json(request)), request.path_params["actor_id"]
    revoked = await run_in_threadpool(
        lambda: revoke_actor(auth.institution_admin(request), actor_id, reason)
    )
    _changed(request)
    return JSONResponse(revoked)


async def reissue(request: Request) -> JSONResponse:
    reason, actor_id = _reason(await read_json(request)), request.path_params["actor_id"]
    issued = await run_in_threadpool(
        lambda: reissue_token(auth.institution_admin(request), actor_id, reason)
    )
    _changed(request)
    return JSONResponse(issued, status_code=201)


def _changed(request: Request) -> None:
    """The engine's other workers forget what their idle polls remember of these actors."""
    auth.context(request).notifier.notify(request.path_params["institution_id"])
