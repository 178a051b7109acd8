"""Platform admin: institutions and their admin key."""

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from functions.bodies import NewInstitution
from functions.engine import auth
from functions.http import read_json
from governance.institutions import bootstrap_admin_key, create_institution
from kernel.bodies import parse


async def create(request: Request) -> JSONResponse:
    ctx = auth.platform_admin(request)
    asked = parse(NewInstitution, await read_json(request))
    institution, created = await run_in_threadpool(
        create_institution, ctx, asked.external_id, asked.name or asked.external_id
    )
    return JSONResponse({**institution, "created": created}, status_code=201 if created else 200)


def bootstrap(request: Request) -> JSONResponse:
    key = bootstrap_admin_key(auth.platform_admin(request), request.path_params["institution_id"])
    return JSONResponse(
        {
            "institution_id": request.path_params["institution_id"],
            "admin_key": key,
            "note": "shown once; the engine keeps only its hash",
        },
        status_code=201,
    )


async def public_key(request: Request) -> JSONResponse:
    return JSONResponse({"algorithm": "ed25519", "public_key": auth.context(request).public_key})


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})
