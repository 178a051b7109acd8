"""Institution admin: register, compile and release IDL bundles."""

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from functions.bodies import NewBundle, Release
from functions.engine import auth
from functions.http import bearer_token, read_json
from governance.contracts import describe_active, list_bundles, register_bundle, release_bundle
from idl import IDLError
from idl.compiler import builtin_source
from kernel.bodies import parse
from kernel.errors import BadRequest, NotFound


async def register(request: Request) -> JSONResponse:
    """Body: {"source": "<contract TOML>"} or {"builtin": "personal_ops@v1.0.0"}."""
    asked = parse(NewBundle, await read_json(request))
    source = asked.source
    if source is None and asked.builtin is not None and "@v" in asked.builtin:
        name, version = asked.builtin.split("@v", 1)
        try:
            source = builtin_source(name, version)
        except IDLError as exc:
            raise NotFound(str(exc), code="bundle_not_found") from exc
    if source is None:
        raise BadRequest(
            "give 'source' (contract text) or 'builtin' (e.g. personal_ops@v1.0.0)",
            code="missing_source",
        )
    bundle, created = await run_in_threadpool(
        lambda: register_bundle(auth.institution_admin(request), source)
    )
    return JSONResponse({**bundle, "created": created}, status_code=201 if created else 200)


async def release(request: Request) -> JSONResponse:
    """By the admin key: the first contract. By the owner, with {manifest_sha256}: a move to
    another version while one is in force (the owner's approval is recorded)."""
    name, version = request.path_params["name"], request.path_params["version"]
    by_owner = not (bearer_token(request) or "").startswith("lak_")
    approved = parse(Release, await read_json(request)).manifest_sha256 if by_owner else None

    def work():
        ctx, number = auth.context(request), version.removeprefix("v")
        if not by_owner:
            return release_bundle(ctx, auth.institution_admin(request), name, number)
        tenant, approver = auth.actor(request)
        return release_bundle(ctx, tenant, name, number, approver, approved)

    return JSONResponse(await run_in_threadpool(work))


def index(request: Request) -> JSONResponse:
    return JSONResponse({"bundles": list_bundles(auth.institution_admin(request))})


def active(request: Request) -> JSONResponse:
    tenant, _ = auth.actor_or_admin(request)
    return JSONResponse(describe_active(tenant))
