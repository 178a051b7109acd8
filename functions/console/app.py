from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import psycopg
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from functions import logs
from functions.console import api, auth, downloads, notifications, pages, people
from functions.console.services import Services
from functions.console.session_check import SessionCheck
from functions.console.settings import ConsoleSettings
from functions.edge import Edge
from functions.hardening import PAGE_HEADERS
from functions.http import EXCEPTION_HANDLERS, error_response, refusal_response
from kernel.errors import Refused
from portal import engine_words
from portal.db import open_database
from portal.engine_client import EngineClient
from portal.i18n import LocaleMiddleware, use_the_askers
from portal.mail import Postman
from portal.migrations import migrate
from portal.notices import Watcher
from portal.recovery import Links
from portal.secret_box import SecretBox
from portal.security import LoginThrottle

MAX_BODY_BYTES = 64 * 1024
STATIC = Path(__file__).parents[2] / "portal" / "static"

ROUTES = [
    Route("/", pages.home),
    Route("/login", pages.login_page),
    Route("/signup", pages.signup_page),
    Route("/onboarding", pages.onboarding_page),
    Route("/dashboard", pages.dashboard_page),
    Route("/approvals", pages.approvals_page),
    Route("/audit", pages.audit_page),
    Route("/chat", pages.chat_page),
    Route("/files", pages.files_page),
    Route("/duplicates", pages.duplicates_page),
    Route("/cleanup", pages.cleanup_page),
    Route("/quarantine", pages.quarantine_page),
    Route("/language", pages.language),
    Route("/healthz", lambda request: JSONResponse({"status": "ok"})),
    Route("/api/session", auth.session),
    Route("/api/signup", auth.signup, methods=["POST"]),
    Route("/api/login", auth.signin, methods=["POST"]),
    Route("/api/logout", auth.signout, methods=["POST"]),
    Route("/api/logout-everywhere", auth.signout_everywhere, methods=["POST"]),
    Route("/api/password/forgot", auth.forgot_password, methods=["POST"]),
    Route("/api/password/reset", auth.reset_password, methods=["POST"]),
    Route("/api/email/verify-again", auth.verify_again, methods=["POST"]),
    Route("/forgot", pages.forgot_page),
    Route("/reset", pages.reset_page),
    Route("/verify", pages.verify_page),
    Route("/api/onboarding", api.onboarding, methods=["POST"]),
    Route("/api/contract", api.contract),
    Route("/api/contract/approve", api.approve_contract, methods=["POST"]),
    Route("/api/dashboard", api.dashboard),
    Route("/api/approvals", api.approvals),
    Route("/api/approvals/{proposal_id}/{verdict:str}", api.decide, methods=["POST"]),
    Route("/api/proposals/{proposal_id}", api.proposal),
    Route("/api/audit", api.audit),
    Route("/api/audit/export", api.audit_export),
    Route("/api/audit/public-key", api.public_key),
    Route("/api/audit/verify", api.audit_verify),
    Route("/api/audit/proof", api.audit_proof),
    Route("/api/chat", api.chat, methods=["POST"]),
    Route("/api/files", api.files),
    Route("/api/duplicates", api.duplicates),
    Route("/api/cleanup", api.cleanup),
    Route("/api/quarantine", api.quarantine),
    Route("/api/quarantine-files", api.quarantine_files, methods=["POST"]),
    Route("/api/restore", api.restore, methods=["POST"]),
    Route("/api/purge", api.purge, methods=["POST"]),
    Route("/api/scan", api.scan, methods=["POST"]),
    Route("/api/agent-token", api.reissue_agent_token, methods=["POST"]),
    Route("/members", pages.members_page),
    Route("/notifications", pages.notifications_page),
    Route("/api/notifications", notifications.inbox),
    Route("/api/notifications/read", notifications.read, methods=["POST"]),
    Route("/api/notifications/choices", notifications.choose, methods=["POST"]),
    Route("/invite", pages.invitation_page),
    Route("/api/members", people.roster),
    Route("/api/members/{id}/remove", people.remove, methods=["POST"]),
    Route("/api/invitations", people.invite, methods=["POST"]),
    Route("/api/invitations/accept", people.accept, methods=["POST"]),
    Route("/api/invitations/{id}/withdraw", people.withdraw, methods=["POST"]),
    Route("/api/downloads", downloads.index),
    Route("/downloads/{name}", downloads.download),
    Mount("/static", StaticFiles(directory=STATIC), name="static"),
]


async def accounts_store_error(request: Request, exc: Exception) -> JSONResponse:
    """PostgreSQL trouble (a full disk, a restart) is the store's, not the request's."""
    if isinstance(exc, psycopg.errors.DiskFull):
        status, code, message = 507, "insufficient_storage", "the disk is full; nothing was written"
    else:
        status, code, message = 503, "storage_unavailable", "the accounts store is unavailable"
    return error_response(status, code, engine_words.error_message(code, message))


def wants_page(request: Request) -> bool:
    """A person's browser asking for a page (not the APIs, files or a script)."""
    path = request.url.path
    return (
        request.method == "GET"
        and "text/html" in request.headers.get("accept", "")
        and not path.startswith(("/api/", "/static/", "/downloads/", "/healthz"))
    )


def page_or_json(json_handler):
    """Unknown pages and failures a person meets in a browser get a page in their language;
    every other caller keeps the JSON error."""

    async def handle(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 500)
        if wants_page(request) and status in (404, 405, 500):
            shown = 404 if status == 405 else status
            return pages.TEMPLATES.TemplateResponse(
                request, "error.html", {"status": shown, "csrf_token": ""}, status_code=shown
            )
        return await json_handler(request, exc)

    return handle


def refusal_page(scope: dict, status: int, headers: list[tuple[bytes, bytes]]) -> Response | None:
    """The edge's refusal (too many requests) as a page in the person's language, when their
    browser navigates; the edge answers before the language is known, so it is chosen here."""
    request = Request(scope)
    if not wants_page(request):
        return None
    use_the_askers(scope)
    return pages.TEMPLATES.TemplateResponse(
        request,
        "error.html",
        # The same page again; one leading slash, so '//host/...' cannot link elsewhere.
        {"status": status, "csrf_token": "", "again": "/" + scope["path"].lstrip("/")},
        status_code=status,
        headers={name.decode(): value.decode() for name, value in headers},
    )


async def console_refusal(request: Request, exc: Exception) -> JSONResponse:
    """A refusal, said in the person's language when the catalog knows its code."""
    assert isinstance(exc, Refused)
    return refusal_response(exc, engine_words.error_message(exc.code, exc.message))


def build_app(settings: ConsoleSettings) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db = open_database(settings.database_url, settings.accounts_sqlite_path)
        if settings.migrate_on_start:
            migrate(db)
        engine = EngineClient(
            settings.engine_url,
            settings.platform_token,
            ca_bundle=settings.engine_ca_bundle,
            trace_headers=logs.trace_headers,
        )
        postman = (
            Postman(
                db,
                settings.smtp,
                settings.mail_interval_seconds,
                timedelta(seconds=settings.mail_retry_seconds),
            )
            if settings.smtp
            else None
        )
        app.state.services = Services(
            settings=settings,
            db=db,
            box=SecretBox.from_b64(settings.encryption_key),
            engine=engine,
            throttle=LoginThrottle(settings.login_attempts, settings.login_window_seconds),
            links=Links(settings.session_secret),
            postman=postman,
        )
        watcher = Watcher(
            db,
            app.state.services.box,
            engine,
            settings.portal_url,
            offline_after=timedelta(seconds=settings.agent_offline_seconds),
            expiry_warning=timedelta(seconds=settings.expiry_warning_seconds),
            interval=settings.notice_interval_seconds,
            on_mail=app.state.services.mail_enqueued,
        )
        if postman is not None:
            postman.start()
        watcher.start()
        try:
            yield
        finally:
            await run_in_threadpool(watcher.stop)
            if postman is not None:
                await run_in_threadpool(postman.stop)
            engine.close()
            db.close()

    app = Starlette(
        routes=ROUTES,
        exception_handlers={
            **EXCEPTION_HANDLERS,
            HTTPException: page_or_json(EXCEPTION_HANDLERS[HTTPException]),
            Exception: page_or_json(EXCEPTION_HANDLERS[Exception]),
            Refused: console_refusal,
            psycopg.Error: accounts_store_error,
        },
        middleware=[
            Middleware(
                Edge,
                headers=PAGE_HEADERS,
                rate=settings.rate_limit_per_second,
                burst=settings.rate_limit_burst,
                max_bytes=MAX_BODY_BYTES,
                tokens=False,  # people sign in with sessions: counted by their address
                refusal_page=refusal_page,
            ),
            Middleware(LocaleMiddleware),
            Middleware(
                SessionMiddleware,
                secret_key=settings.session_secret,
                session_cookie="libervia_session",
                same_site="lax",
                https_only=settings.secure_cookies,
                max_age=7 * 24 * 3600,
            ),
            Middleware(SessionCheck),
        ],
        lifespan=lifespan,
    )
    app.state.max_body_bytes = MAX_BODY_BYTES
    return app


def create_app() -> Starlette:
    """Entry point for `uvicorn --factory functions.console.app:create_app`."""
    logs.configure("console")
    return build_app(ConsoleSettings.from_env())
