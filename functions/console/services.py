from dataclasses import dataclass

from starlette.requests import Request

from functions.console.settings import ConsoleSettings
from portal import members
from portal.db import Database
from portal.engine_client import EngineClient
from portal.mail import Postman
from portal.recovery import Links
from portal.secret_box import SecretBox
from portal.security import LoginThrottle, current_user_id
from portal.workspace import Workspace


@dataclass
class Services:
    settings: ConsoleSettings
    db: Database
    box: SecretBox
    engine: EngineClient
    throttle: LoginThrottle
    links: Links
    postman: Postman | None = None

    def mail_enqueued(self) -> None:
        """Something was written to the outbox: the postman sends it now, not on its next round."""
        if self.postman is not None:
            self.postman.wake()


def services(request: Request) -> Services:
    return request.app.state.services


def workspace(request: Request) -> Workspace:
    s = services(request)
    return Workspace.open(s.db, s.box, s.engine, current_user_id(request))


def people_names(request: Request, ws: Workspace) -> dict[str, str]:
    """The members' emails by engine actor id, for sentences that name people (blocking)."""
    return members.names(services(request).db, ws.institution_id)
