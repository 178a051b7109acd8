"""A person's notices: the list (read once shown), the unread count, their email choices."""

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from functions.console.bodies import NoticeChoices, posted
from functions.console.services import services
from kernel.bodies import Body
from portal import notices
from portal.security import current_user_id


async def inbox(request: Request) -> JSONResponse:
    user_id, db = current_user_id(request), services(request).db
    return JSONResponse(await run_in_threadpool(notices.inbox, db, user_id))


async def read(request: Request) -> JSONResponse:
    await posted(request, Body)  # only its CSRF token
    user_id, db = current_user_id(request), services(request).db
    return JSONResponse({"marked": await run_in_threadpool(notices.mark_read, db, user_id)})


async def choose(request: Request) -> JSONResponse:
    choices = (await posted(request, NoticeChoices)).email
    user_id, db = current_user_id(request), services(request).db
    chosen = await run_in_threadpool(notices.choose, db, user_id, choices)
    return JSONResponse({"email": chosen})
