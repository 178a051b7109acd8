"""Institution admin: activate the departments of the released contract."""

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from functions.engine import auth
from governance.departments import activate as activate_department
from governance.departments import active_departments


async def activate(request: Request) -> JSONResponse:
    name = request.path_params["name"]

    def work():
        return activate_department(auth.institution_admin(request), name)

    result = await run_in_threadpool(work)
    return JSONResponse(result, status_code=201 if result["activated"] else 200)


async def index(request: Request) -> JSONResponse:
    def work():
        tenant, _ = auth.actor_or_admin(request)
        with tenant.db.reader() as reader:
            return active_departments(reader)

    active = await run_in_threadpool(work)
    return JSONResponse(
        {"departments": [{"department": d, "activated_at": at} for d, at in sorted(active.items())]}
    )
