"""The agent builds and SHA256SUMS, behind login: every published version with its checksum,
newest first. A build is saved as `libervia-agent`, the name the commands on the page use."""

import re
from dataclasses import asdict, dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse

from functions.console.services import services
from kernel.errors import NotFound
from portal.security import current_user_id

BUILD = re.compile(r"libervia-agent-(\d+\.\d+\.\d+)-([a-z0-9]+)-([A-Za-z0-9_]+)(\.exe)?")
SAVED_AS = "libervia-agent"


@dataclass(frozen=True)
class Build:
    name: str
    version: str
    os: str
    arch: str
    sha256: str
    url: str


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


def semver(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def builds(dist: Path) -> list[Build]:
    """The published builds named by version, OS and architecture, newest version first."""
    found = []
    for name, digest in published(dist).items():
        match = BUILD.fullmatch(name)
        if match:
            version, os_name, arch, _ = match.groups()
            found.append(Build(name, version, os_name, arch, digest, f"/downloads/{name}"))
    return sorted(found, key=lambda b: (semver(b.version), b.os, b.arch), reverse=True)


def newer_build(dist: Path, running: str | None) -> str | None:
    """The newest published version when it is newer than the agent's (None otherwise)."""
    found = builds(dist)
    if not found or running is None or not re.fullmatch(r"\d+\.\d+\.\d+", running):
        return None
    return found[0].version if semver(found[0].version) > semver(running) else None


async def index(request: Request) -> JSONResponse:
    current_user_id(request)
    found = builds(services(request).settings.agent_dist_dir)
    return JSONResponse(
        {
            "files": [asdict(b) for b in found],
            "newest": found[0].version if found else None,
            "saved_as": SAVED_AS,
            "sha256sums_url": "/downloads/SHA256SUMS" if found else None,
        }
    )


async def download(request: Request) -> FileResponse:
    current_user_id(request)
    dist = services(request).settings.agent_dist_dir
    name = request.path_params["name"]
    files = published(dist)
    if not files or (name != "SHA256SUMS" and name not in files) or not (dist / name).is_file():
        raise NotFound(
            f"{name} is not published; the operator builds it with `make agent`", code="not_found"
        )
    saved = name if name == "SHA256SUMS" else SAVED_AS + (".exe" if name.endswith(".exe") else "")
    return FileResponse(dist / name, filename=saved, headers={"X-Libervia-Build": name})
