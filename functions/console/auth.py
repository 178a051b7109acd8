"""Sign-up, login, logout and the session's CSRF token."""

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from functions.console import bodies
from functions.console.bodies import posted
from functions.console.services import services
from kernel.bodies import Body
from kernel.errors import Unauthorized
from portal import recovery
from portal.accounts import authenticate, get_user, institution_of, locale_of, sign_up
from portal.i18n import LANG_COOKIE, LOCALES
from portal.security import csrf_token, current_user_id, login, signed_in_user
from portal.sessions import open_session, revoke, revoke_all


async def session(request: Request) -> JSONResponse:
    user_id = signed_in_user(request)
    s = services(request)
    user = await run_in_threadpool(get_user, s.db, user_id) if user_id else None
    institution = await run_in_threadpool(institution_of, s.db, user["id"]) if user else None
    return JSONResponse(
        {
            "csrf_token": csrf_token(request),
            "user": user,
            "onboarded": bool(institution and institution["onboarding_state"] == "active"),
        }
    )


async def signup(request: Request) -> JSONResponse:
    asked, s = await posted(request, bodies.SignUp), services(request)
    user = await run_in_threadpool(sign_up, s.db, asked.email, asked.password)
    login(request, await run_in_threadpool(open_session, s.db, user["id"]))
    await run_in_threadpool(
        recovery.send_verification, s.db, s.links, user["id"], s.settings.portal_url
    )
    s.mail_enqueued()
    return JSONResponse({"user": user, "csrf_token": request.session["csrf"]}, status_code=201)


async def signin(request: Request) -> JSONResponse:
    asked, s = await posted(request, bodies.SignIn), services(request)
    client = request.client.host if request.client else "unknown"
    key = f"{client}|{str(asked.email or '').strip().lower()}"
    s.throttle.check(key)
    try:
        user = await run_in_threadpool(authenticate, s.db, asked.email, asked.password)
    except Unauthorized:
        s.throttle.failed(key)
        raise
    s.throttle.succeeded(key)
    login(request, await run_in_threadpool(open_session, s.db, user["id"]))
    response = JSONResponse({"user": user, "csrf_token": request.session["csrf"]})
    chosen = await run_in_threadpool(locale_of, s.db, user["id"])
    if chosen in LOCALES:  # the language this person picked, on any computer
        response.set_cookie(LANG_COOKIE, chosen, max_age=365 * 86400, samesite="lax")
    return response


async def signout(request: Request) -> JSONResponse:
    """Ends this session in the store: a copy of the cookie opens nothing afterwards."""
    await posted(request, Body)  # only its CSRF token
    session_id = request.session.get("sid")
    if isinstance(session_id, str):
        await run_in_threadpool(revoke, services(request).db, session_id)
    request.session.clear()
    return JSONResponse({"signed_out": True})


async def signout_everywhere(request: Request) -> JSONResponse:
    """Ends every session of the user (a lost laptop, a shared computer)."""
    await posted(request, Body)  # only its CSRF token
    user_id = current_user_id(request)
    ended = await run_in_threadpool(revoke_all, services(request).db, user_id)
    request.session.clear()
    return JSONResponse({"signed_out": True, "sessions_ended": ended})


async def forgot_password(request: Request) -> JSONResponse:
    """The same answer whether the address has an account or not."""
    asked, s = await posted(request, bodies.PasswordHelp), services(request)
    if await run_in_threadpool(
        recovery.ask_for_reset, s.db, s.links, asked.email, s.settings.portal_url
    ):
        s.mail_enqueued()
    return JSONResponse({"sent": True}, status_code=202)


async def reset_password(request: Request) -> JSONResponse:
    asked, s = await posted(request, bodies.NewPassword), services(request)
    done = await run_in_threadpool(
        recovery.reset_password, s.db, s.links, asked.token, asked.password
    )
    request.session.clear()
    return JSONResponse(done)


async def verify_again(request: Request) -> JSONResponse:
    await posted(request, Body)  # only its CSRF token
    user_id, s = current_user_id(request), services(request)
    sent = await run_in_threadpool(
        recovery.send_verification, s.db, s.links, user_id, s.settings.portal_url
    )
    if sent:
        s.mail_enqueued()
    return JSONResponse({"sent": sent}, status_code=202)
