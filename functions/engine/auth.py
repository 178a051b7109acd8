from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from functions.http import bearer_token
from governance.context import EngineContext
from governance.institutions import authenticate_actor, authenticate_admin, tenant_for
from governance.records import Actor
from governance.tokens import secrets_equal
from kernel.errors import Forbidden, Unauthorized
from tenants.tenant import Tenant


def context(request: Request) -> EngineContext:
    return request.app.state.ctx


async def tenant(request: Request) -> Tenant:
    """The institution of the path: from the open set on the loop, else opened in a thread."""
    ctx, iid = context(request), request.path_params["institution_id"]
    opened = ctx.tenants.get_open(iid)
    return opened if opened is not None else await run_in_threadpool(tenant_for, ctx, iid)


def platform_admin(request: Request) -> EngineContext:
    token = bearer_token(request)
    if not token or not secrets_equal(token, request.app.state.settings.admin_token):
        raise Unauthorized("the platform admin token is required", code="bad_platform_token")
    return context(request)


def institution_admin(request: Request) -> Tenant:
    iid = request.path_params["institution_id"]
    return authenticate_admin(context(request), iid, bearer_token(request))


def actor(request: Request) -> tuple[Tenant, Actor]:
    iid = request.path_params["institution_id"]
    return authenticate_actor(context(request), iid, bearer_token(request))


def human_or_admin(request: Request) -> tuple[Tenant, Actor | None]:
    """Readers of an institution's records: its admin key or a human actor, never the agent."""
    iid = request.path_params["institution_id"]
    ctx, token = context(request), bearer_token(request)
    if token and token.startswith("lak_"):
        return authenticate_admin(ctx, iid, token), None
    tenant, who = authenticate_actor(ctx, iid, token)
    if who.is_agent:
        raise Forbidden("the agent token cannot read institution records", code="agent_forbidden")
    return tenant, who


def actor_or_admin(request: Request) -> tuple[Tenant, Actor | None]:
    """Any credential of the institution: admin key or any actor (the agent included)."""
    iid = request.path_params["institution_id"]
    ctx, token = context(request), bearer_token(request)
    if token and token.startswith("lak_"):
        return authenticate_admin(ctx, iid, token), None
    return authenticate_actor(ctx, iid, token)
