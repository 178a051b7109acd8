"""Institution admin: activate the departments of the released contract."""

from starlette.requests import Request
from starlette.responses import JSONResponse

from functions.engine import auth
from governance.departments import activate as activate_department
from governance.departments import active_departments


def activate(request: Request) -> JSONResponse:
    result = activate_department(auth.institution_admin(request), request.path_params["name"])
    return JSONResponse(result, status_code=201 if result["activated"] else 200)


def index(request: Request) -> JSONResponse:
    tenant, _ = auth.actor_or_admin(request)
    with tenant.db.reader() as reader:
        active = active_departments(reader)
    return JSONResponse(
        {"departments": [{"department": d, "activated_at": at} for d, at in sorted(active.items())]}
    )
