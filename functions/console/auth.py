"""Sign-up, login, logout and the session's CSRF token."""

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from functions.console.services import services
from functions.http import read_json
from portal.accounts import authenticate, get_user, institution_of, sign_up
from portal.errors import ConsoleError
from portal.security import check_csrf, csrf_token, login


async def session(request: Request) -> JSONResponse:
    user_id = request.session.get("user_id")
    s = services(request)
    user = await run_in_threadpool(get_user, s.db, user_id) if user_id else None
    institution = await run_in_threadpool(institution_of, s.db, user_id) if user else None
    return JSONResponse(
        {
            "csrf_token": csrf_token(request),
            "user": user,
            "onboarded": bool(institution and institution["onboarding_state"] == "active"),
        }
    )


async def signup(request: Request) -> JSONResponse:
    body = await read_json(request)
    check_csrf(request, body.get("csrf_token"))
    user = await run_in_threadpool(
        sign_up, services(request).db, body.get("email"), body.get("password")
    )
    login(request, user["id"])
    return JSONResponse({"user": user, "csrf_token": request.session["csrf"]}, status_code=201)


async def signin(request: Request) -> JSONResponse:
    body = await read_json(request)
    check_csrf(request, body.get("csrf_token"))
    s = services(request)
    client = request.client.host if request.client else "unknown"
    key = f"{client}|{str(body.get('email', '')).strip().lower()}"
    s.throttle.check(key)
    try:
        user = await run_in_threadpool(authenticate, s.db, body.get("email"), body.get("password"))
    except ConsoleError as exc:
        if exc.status == 401:
            s.throttle.failed(key)
        raise
    s.throttle.succeeded(key)
    login(request, user["id"])
    return JSONResponse({"user": user, "csrf_token": request.session["csrf"]})


async def signout(request: Request) -> JSONResponse:
    body = await read_json(request)
    check_csrf(request, body.get("csrf_token"))
    request.session.clear()
    return JSONResponse({"signed_out": True})
