"""Server-rendered pages. They show what the APIs return; actions go through the APIs."""

from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from functions.console.api import SHOWN, audit_view, dashboard_view, folder_query
from functions.console.services import people_names, services, workspace
from kernel.errors import Refused
from portal import engine_words, i18n, letters, members, notices, recovery
from portal.accounts import get_user, institution_of, set_locale
from portal.findings import localized
from portal.security import csrf_token, signed_in_user

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parents[2] / "portal" / "templates"))
TEMPLATES.env.add_extension("jinja2.ext.i18n")
TEMPLATES.env.install_gettext_callables(  # type: ignore[attr-defined]
    i18n.gettext, i18n.ngettext, newstyle=True
)
TEMPLATES.env.filters["size"] = i18n.size
TEMPLATES.env.filters["day"] = i18n.when
TEMPLATES.env.filters["number"] = i18n.number
TEMPLATES.env.globals["html_lang"] = i18n.html_lang
TEMPLATES.env.globals["locale"] = i18n.current
TEMPLATES.env.globals["js_strings"] = i18n.js_strings
TEMPLATES.env.globals["role_name"] = letters.role_name
TEMPLATES.env.filters["role"] = engine_words.role_label
TEMPLATES.env.filters["action"] = engine_words.action_words
TEMPLATES.env.filters["effect"] = engine_words.effect_label


def render(request: Request, name: str, **context) -> Response:
    context.update(csrf_token=csrf_token(request))
    return TEMPLATES.TemplateResponse(request, name, context)


async def _state(request: Request) -> tuple[dict | None, dict | None]:
    user_id = signed_in_user(request)
    if not user_id:
        return None, None
    s = services(request)
    user = await run_in_threadpool(get_user, s.db, user_id)
    institution = await run_in_threadpool(institution_of, s.db, user_id) if user else None
    return user, institution


def _guard(user, institution, need_onboarded: bool = True) -> Response | None:
    if user is None:
        return RedirectResponse("/login", status_code=303)
    onboarded = institution is not None and institution["onboarding_state"] == "active"
    if need_onboarded and not onboarded:
        return RedirectResponse("/onboarding", status_code=303)
    return None


async def home(request: Request) -> Response:
    user, institution = await _state(request)
    return _guard(user, institution) or RedirectResponse("/dashboard", status_code=303)


async def login_page(request: Request) -> Response:
    return render(request, "login.html", mode="login")


async def signup_page(request: Request) -> Response:
    return render(request, "login.html", mode="signup")


async def onboarding_page(request: Request) -> Response:
    user, institution = await _state(request)
    if redirect := _guard(user, institution, need_onboarded=False):
        return redirect
    rules = None
    if institution and institution["onboarding_state"] == "active":
        rules = await run_in_threadpool(lambda: workspace(request).contract())
    return render(
        request,
        "onboarding.html",
        institution=institution,
        contract=rules,
        engine_url=services(request).settings.engine_public_url,
    )


async def _page(request: Request, template: str, load) -> Response:
    user, institution = await _state(request)
    if redirect := _guard(user, institution):
        return redirect
    assert user is not None  # _guard sent everyone else to sign in
    try:
        data = await run_in_threadpool(lambda: load(workspace(request)))
        error = None
    except Refused as exc:
        data, error = None, engine_words.error_message(exc.code, exc.message)
    unread = await run_in_threadpool(notices.unread_count, services(request).db, user["id"])
    return render(
        request,
        template,
        data=data,
        error=error,
        institution=institution,
        user=user,
        unread=unread,
        query=dict(request.query_params),
    )


async def dashboard_page(request: Request) -> Response:
    return await _page(request, "dashboard.html", lambda w: dashboard_view(request, w))


async def approvals_page(request: Request) -> Response:
    return await _page(request, "approvals.html", lambda w: w.pending())


async def audit_page(request: Request) -> Response:
    return await _page(request, "audit.html", lambda w: audit_view(request, w))


async def chat_page(request: Request) -> Response:
    return await _page(request, "chat.html", lambda w: None)


def _found(request: Request, view, *, selectable: bool = False) -> Any:
    """A view of the agent's findings; where files are selected for the quarantine
    (`selectable`), with those a waiting proposal already names."""

    def load(ws):
        found, inventory = ws.findings()
        waiting = ws.awaiting_approval() if selectable else set()
        return {
            **view(found),
            "listed_at": inventory.listed_at,
            "whole": inventory.whole,
            "waiting": waiting,
        }

    return load


async def files_page(request: Request) -> Response:
    query = folder_query(request)
    return await _page(request, "files.html", _found(request, lambda f: f.folder(**query)))


async def duplicates_page(request: Request) -> Response:
    keep = request.query_params.get("keep", "shortest")
    page = request.query_params.get("page", "1")
    number = int(page) if page.isdigit() and 0 < int(page) < 10**6 else 1
    return await _page(
        request,
        "duplicates.html",
        _found(request, lambda f: f.duplicates(keep, number), selectable=True),
    )


async def cleanup_page(request: Request) -> Response:
    keep = request.query_params.get("keep", "shortest")
    return await _page(
        request,
        "cleanup.html",
        _found(
            request,
            lambda f: {"kinds": localized(f.cleanup(keep, shown=SHOWN)), "keep": keep},
            selectable=True,
        ),
    )


async def quarantine_page(request: Request) -> Response:
    return await _page(request, "quarantine.html", lambda w: w.quarantine(people_names(request, w)))


async def forgot_page(request: Request) -> Response:
    return render(request, "recovery.html", mode="forgot")


async def reset_page(request: Request) -> Response:
    return render(request, "recovery.html", mode="reset", token=request.query_params.get("token"))


async def verify_page(request: Request) -> Response:
    """The emailed confirmation link (confirming twice changes nothing)."""
    s = services(request)
    try:
        result = await run_in_threadpool(
            recovery.verify_email, s.db, s.links, request.query_params.get("token")
        )
        error = None
    except Refused as exc:
        result, error = None, engine_words.error_message(exc.code, exc.message)
    return render(request, "recovery.html", mode="verified", result=result, error=error)


async def notifications_page(request: Request) -> Response:
    """The notices, newest first; opening the page marks them read (they stay listed)."""
    db = services(request).db

    def load(ws):
        shown = notices.inbox(db, ws.user_id)
        notices.mark_read(db, ws.user_id)
        return {**shown, "kinds": notices.KINDS}

    return await _page(request, "notifications.html", load)


async def members_page(request: Request) -> Response:
    db = services(request).db
    return await _page(request, "members.html", lambda w: members.roster(db, w.user_id))


async def invitation_page(request: Request) -> Response:
    """The emailed link: what joining means, and the form that accepts it."""
    s = services(request)
    token = request.query_params.get("token", "")
    try:
        invitation = await run_in_threadpool(members.look_up, s.db, token)
        error = None
    except Refused as exc:
        invitation, error = None, engine_words.error_message(exc.code, exc.message)
    user_id = signed_in_user(request)
    user = await run_in_threadpool(get_user, s.db, user_id) if user_id else None
    return render(
        request,
        "invite.html",
        invitation=invitation,
        token=token,
        user=user,
        error=error,
    )


async def language(request: Request) -> Response:
    """Switch the portal's language (remembered in a cookie, and for a signed-in person in
    their account), then go back where they were."""
    chosen = request.query_params.get("to", "")
    back = request.query_params.get("next", "/")
    if not back.startswith("/") or back.startswith("//") or "\\" in back:
        back = "/"
    if chosen not in i18n.LOCALES:
        chosen = i18n.DEFAULT
    user_id = signed_in_user(request)
    if user_id:
        await run_in_threadpool(set_locale, services(request).db, user_id, chosen)
    response = RedirectResponse(back, status_code=303)
    response.set_cookie(i18n.LANG_COOKIE, chosen, max_age=365 * 86400, samesite="lax")
    return response
