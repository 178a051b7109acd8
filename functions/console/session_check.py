"""Between the signed cookie and the routes: the cookie's session must be live in the store."""

from typing import Any

from starlette.concurrency import run_in_threadpool

from portal.sessions import user_of


class SessionCheck:
    """After SessionMiddleware has read the cookie: a session id naming a live session (not
    ended, not expired) makes the request its user's (`scope["user_id"]`); one that does not
    is emptied, and the cookie with it. The store is read in a thread, off the event loop."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            session = scope.get("session")
            session_id = session.get("sid") if isinstance(session, dict) else None
            user_id = None
            if isinstance(session, dict) and isinstance(session_id, str) and session_id:
                db = scope["app"].state.services.db
                user_id = await run_in_threadpool(user_of, db, session_id)
                if user_id is None:
                    session.clear()
            scope["user_id"] = user_id
        await self.app(scope, receive, send)
