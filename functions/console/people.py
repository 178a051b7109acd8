"""Members and invitations: the owner invites and removes people; an invited person accepts."""

import re

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from functions.console import bodies
from functions.console.bodies import posted
from functions.console.services import services
from kernel.bodies import Body
from kernel.errors import NotFound
from portal import members
from portal.security import current_user_id, login, signed_in_user
from portal.sessions import open_session

# 24 hex digits (kernel.ids); the accounts store's first ids had 20.
INVITATION_ID = re.compile(r"inv_(?:[0-9a-f]{4})?[0-9a-f]{20}")
USER_ID = re.compile(r"usr_(?:[0-9a-f]{4})?[0-9a-f]{20}")


def _id(request: Request, pattern: re.Pattern[str], code: str, message: str) -> str:
    value = request.path_params["id"]
    if not pattern.fullmatch(value):
        raise NotFound(message, code=code)
    return str(value)


async def roster(request: Request) -> JSONResponse:
    user_id, s = current_user_id(request), services(request)
    return JSONResponse(await run_in_threadpool(members.roster, s.db, user_id))


async def invite(request: Request) -> JSONResponse:
    asked = await posted(request, bodies.Invitation)
    user_id, s = current_user_id(request), services(request)
    invited = await run_in_threadpool(
        members.invite, s.db, user_id, asked.email, asked.role, s.settings.portal_url
    )
    s.mail_enqueued()
    return JSONResponse(invited, status_code=201)


async def withdraw(request: Request) -> JSONResponse:
    await posted(request, Body)  # only its CSRF token
    invitation_id = _id(
        request, INVITATION_ID, "invitation_not_found", "there is no such waiting invitation"
    )
    user_id, s = current_user_id(request), services(request)
    await run_in_threadpool(members.withdraw, s.db, user_id, invitation_id)
    return JSONResponse({"withdrawn": invitation_id})


async def accept(request: Request) -> JSONResponse:
    """Join with the emailed link: signed in as the invited address, or with a new password."""
    asked, s = await posted(request, bodies.Joining), services(request)
    user = await run_in_threadpool(
        members.accept, s.db, s.box, s.engine, asked.token, signed_in_user(request), asked.password
    )
    login(request, await run_in_threadpool(open_session, s.db, user["id"]))
    return JSONResponse({"user": user, "csrf_token": request.session["csrf"]}, status_code=201)


async def remove(request: Request) -> JSONResponse:
    await posted(request, Body)  # only its CSRF token
    member_id = _id(request, USER_ID, "member_not_found", "there is no such member")
    user_id, s = current_user_id(request), services(request)
    removed = await run_in_threadpool(members.remove, s.db, s.box, s.engine, user_id, member_id)
    return JSONResponse(removed)
