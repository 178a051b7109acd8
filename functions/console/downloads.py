"""The agent binary and SHA256SUMS, behind login."""

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse

from functions.console.services import services
from portal.errors import ConsoleError
from portal.security import current_user_id


def published(dist: Path) -> dict[str, str]:
    """name -> sha256, from SHA256SUMS; only files listed there are ever served."""
    sums = dist / "SHA256SUMS"
    if not sums.is_file():
        return {}
    entries = {}
    for line in sums.read_text().splitlines():
        digest, _, name = line.partition("  ")
        if digest and name and "/" not in name:
            entries[name.strip()] = digest
    return entries


async def index(request: Request) -> JSONResponse:
    current_user_id(request)
    files = published(services(request).settings.agent_dist_dir)
    return JSONResponse(
        {
            "files": [
                {"name": n, "sha256": d, "url": f"/downloads/{n}"} for n, d in sorted(files.items())
            ],
            "sha256sums_url": "/downloads/SHA256SUMS" if files else None,
        }
    )


async def download(request: Request) -> FileResponse:
    current_user_id(request)
    dist = services(request).settings.agent_dist_dir
    name = request.path_params["name"]
    files = published(dist)
    if not files or (name != "SHA256SUMS" and name not in files) or not (dist / name).is_file():
        raise ConsoleError(
            404, "not_found", f"{name} is not published; the operator builds it with `make agent`"
        )
    return FileResponse(dist / name, filename=name)
