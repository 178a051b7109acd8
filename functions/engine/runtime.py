"""The agent's endpoints: long-poll for authorized jobs, lease one, report its result."""

import asyncio
import contextlib
import functools
import re
import time
from dataclasses import replace
from typing import NamedTuple

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from functions import logs
from functions.bodies import Lease, Result
from functions.engine import auth
from functions.http import (
    bearer_token,
    content_encoding,
    decoded_body,
    int_query,
    parse_json_object,
    read_body,
    read_json,
)
from governance.audit import record_witness_alarm
from governance.context import EngineContext
from governance.institutions import authenticate_actor
from governance.jobs import (
    available_jobs,
    get_job,
    lease_job,
    post_result,
    record_progress,
    stored_report,
    touch_actor,
)
from governance.records import Job
from governance.retention import held
from kernel.bodies import parse
from kernel.errors import Forbidden

RECHECK_SECONDS = 1.0
NO_JOBS = JSONResponse({"jobs": []}).body
AGENT_UA = re.compile(r"libervia-agent/(\d{1,4}\.\d{1,4}\.\d{1,4}(?:-[0-9A-Za-z.-]{1,32})?)")


@functools.lru_cache(maxsize=256)  # an agent sends the same User-Agent with every poll
def agent_version(user_agent: str) -> str | None:
    """`libervia-agent/1.2.3` -> "1.2.3" (a SemVer build name), else None."""
    match = AGENT_UA.fullmatch(user_agent.strip())
    return match.group(1) if match else None


class _Poll(NamedTuple):  # made for every poll: a NamedTuple is the cheapest record
    institution_id: str
    token: str | None
    version: str | None
    limit: int


async def poll(request: Request) -> Response:
    """Returns at once when jobs are queued, otherwise waits up to `wait` seconds for one."""
    max_wait = request.app.state.settings.long_poll_max_seconds
    wait = int_query(request, "wait", 0, 0, max_wait)
    asked = _Poll(
        request.path_params["institution_id"],
        bearer_token(request),
        agent_version(request.headers.get("user-agent", "")),
        int_query(request, "limit", 10, 1, 100),
    )
    ctx = auth.context(request)
    jobs = await _check(ctx, asked)
    if not jobs and wait == 0:
        return Response(NO_JOBS, media_type="application/json")  # JSONResponse's bytes, made once
    if jobs:
        return JSONResponse({"jobs": jobs})
    deadline = time.monotonic() + wait
    event = ctx.notifier.register(asked.institution_id)
    try:
        jobs = await _check(ctx, asked)
        while not jobs and (remaining := deadline - time.monotonic()) > 0:
            # Re-check now and then: jobs may also come from another process (the clock).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout=min(remaining, RECHECK_SECONDS))
            event.clear()
            jobs = await _check(ctx, asked)
    finally:
        ctx.notifier.unregister(asked.institution_id, event)
    return JSONResponse({"jobs": jobs})


async def _check(ctx: EngineContext, asked: _Poll) -> list[dict]:
    """The jobs for the agent; from memory when its last look found none and nothing changed."""
    tenant = ctx.tenants.get_open(asked.institution_id)
    if tenant is not None:
        actor = ctx.notifier.idle.idle_agent(tenant, asked.token)
        if actor is not None and asked.version in (None, actor.agent_version):
            return []
    return await run_in_threadpool(_look, ctx, asked)


def _look(ctx: EngineContext, asked: _Poll) -> list[dict]:
    """The jobs for the agent, read from its institution's file; none found is remembered."""
    idle = ctx.notifier.idle
    try:
        tenant, actor = authenticate_actor(ctx, asked.institution_id, asked.token)
        if not actor.is_agent:
            raise Forbidden("only the institution's agent polls for jobs", code="not_an_agent")
        touch_actor(tenant, actor, asked.version)
        generation = tenant.db.generation
        found = available_jobs(tenant, asked.limit)
    except BaseException:
        idle.forget(asked.institution_id)  # the memory's token may be the one refused
        raise
    if found.jobs or found.leased:  # a lease may lapse at any moment: no memory then
        idle.forget(asked.institution_id)
    elif asked.token is not None:
        idle.remember(tenant, asked.token, replace(actor, agent_version=asked.version), generation)
    return [job.view() for job in found.jobs]


async def lease(request: Request) -> JSONResponse:
    seconds = parse(Lease, await read_json(request)).lease_seconds

    def work():
        tenant, actor = auth.actor(request)
        return lease_job(tenant, actor, request.path_params["job_id"], seconds)

    job = await run_in_threadpool(work)
    logs.bind_case(job.case_id)
    return JSONResponse(job.view())


async def progress(request: Request) -> JSONResponse:
    body = await read_json(request)

    def work():
        tenant, actor = auth.actor(request)
        return record_progress(tenant, actor, request.path_params["job_id"], body)

    return JSONResponse(await run_in_threadpool(work))


def _result_body(raw: bytes, encoding: str, expanded_limit: int) -> tuple[str, dict]:
    asked = parse(Result, parse_json_object(decoded_body(raw, encoding, expanded_limit)))
    return asked.status, asked.report


async def result(request: Request) -> JSONResponse:
    """The agent's report, of any size: gzip-compressed bodies up to ENGINE_MAX_RESULT_BYTES
    (ENGINE_MAX_RESULT_EXPANDED_BYTES once expanded), read only from the job's agent and
    parsed, hashed and stored off the event loop."""
    settings = request.app.state.settings
    tenant, actor = await run_in_threadpool(auth.actor, request)  # before reading any body
    raw = await read_body(request, settings.max_result_bytes)
    encoding = content_encoding(request)

    def work() -> tuple[Job, bool]:
        status, report = _result_body(raw, encoding, settings.max_result_expanded_bytes)
        return post_result(tenant, actor, request.path_params["job_id"], status, report)

    job, first = await run_in_threadpool(work)
    logs.bind_case(job.case_id)
    return JSONResponse(
        {"job": job.view(), "duplicate": not first}, status_code=201 if first else 200
    )


def report(request: Request) -> Response:
    """The job's report byte for byte as stored, whose sha256 its `job.executed` event holds
    (`X-Libervia-Report-SHA256`): a reader can check it against the signed ledger."""
    tenant, _ = auth.human_or_admin(request)
    body, sha256 = stored_report(tenant, request.path_params["job_id"])
    return Response(
        body, media_type="application/json", headers={"X-Libervia-Report-SHA256": sha256}
    )


def show(request: Request) -> JSONResponse:
    tenant, _ = auth.actor_or_admin(request)
    return JSONResponse(get_job(tenant, request.path_params["job_id"]).view())


async def witness(request: Request) -> JSONResponse:
    """A witness reports that the ledger is not an extension of what it saw."""
    body = await read_json(request)

    def work():
        tenant, actor = auth.actor(request)
        return record_witness_alarm(tenant, actor, body)

    return JSONResponse(await run_in_threadpool(work), status_code=201)


def quarantine(request: Request) -> JSONResponse:
    """What the engine's records say is in the agent's quarantine, newest first."""
    tenant, _ = auth.human_or_admin(request)
    with tenant.db.reader() as reader:
        return JSONResponse({"files": held(reader)[::-1]})
