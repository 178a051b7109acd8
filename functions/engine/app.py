import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.routing import Route

from functions import logs
from functions.collector import settle_heap
from functions.edge import Edge
from functions.engine import (
    actors,
    admin,
    approvals,
    bundles,
    departments,
    ledger,
    proposals,
    runtime,
)
from functions.engine.settings import EngineSettings
from functions.hardening import API_HEADERS
from functions.http import EXCEPTION_HANDLERS
from governance.context import EngineContext
from tenants.migration import migrate_data_dir

INST = "/v1/institutions/{institution_id}"
RESULT_PATH = re.compile(r"/v1/institutions/[^/]+/runtime/jobs/[^/]+/result")
PROPOSALS_PATH = re.compile(r"/v1/institutions/[^/]+/proposals")  # takes X-Libervia-Requester

ROUTES = [
    # The hottest paths first (the router tries each route's pattern in turn): the agent's
    # long-poll, then a decision.
    Route(f"{INST}/runtime/jobs", runtime.poll),
    Route(f"{INST}/proposals", proposals.submit, methods=["POST"]),
    Route(f"{INST}/runtime/jobs/{{job_id}}", runtime.show),
    Route(f"{INST}/runtime/jobs/{{job_id}}/lease", runtime.lease, methods=["POST"]),
    Route(f"{INST}/runtime/jobs/{{job_id}}/result", runtime.result, methods=["POST"]),
    Route(f"{INST}/runtime/jobs/{{job_id}}/progress", runtime.progress, methods=["POST"]),
    Route(f"{INST}/runtime/jobs/{{job_id}}/report", runtime.report),
    Route(f"{INST}/runtime/witness", runtime.witness, methods=["POST"]),
    Route(f"{INST}/quarantine", runtime.quarantine),
    Route("/healthz", admin.health),
    Route("/v1/public-key", admin.public_key),
    Route("/v1/admin/institutions", admin.create, methods=["POST"]),
    Route("/v1/admin/institutions/{institution_id}/admin-key", admin.bootstrap, methods=["POST"]),
    Route(f"{INST}/actors", actors.create, methods=["POST"]),
    Route(f"{INST}/actors", actors.index),
    Route(f"{INST}/actors/{{actor_id}}/revoke", actors.revoke, methods=["POST"]),
    Route(f"{INST}/actors/{{actor_id}}/token", actors.reissue, methods=["POST"]),
    Route(f"{INST}/bundles", bundles.register, methods=["POST"]),
    Route(f"{INST}/bundles", bundles.index),
    Route(f"{INST}/bundles/{{name}}/{{version}}/release", bundles.release, methods=["POST"]),
    Route(f"{INST}/contract", bundles.active),
    Route(f"{INST}/departments", departments.index),
    Route(f"{INST}/departments/{{name}}/activate", departments.activate, methods=["POST"]),
    Route(f"{INST}/proposals", proposals.index),
    Route(f"{INST}/proposals/{{proposal_id}}", proposals.show),
    Route(f"{INST}/approvals", approvals.pending),
    Route(f"{INST}/proposals/{{proposal_id}}/approve", approvals.approve_one, methods=["POST"]),
    Route(f"{INST}/proposals/{{proposal_id}}/reject", approvals.reject_one, methods=["POST"]),
    Route(f"{INST}/ledger/events", ledger.events),
    Route(f"{INST}/ledger/verify", ledger.verify),
    Route(f"{INST}/ledger/checkpoints", ledger.create_checkpoint, methods=["POST"]),
    Route(f"{INST}/ledger/checkpoint", ledger.latest_checkpoint),
    Route(f"{INST}/ledger/proofs/consistency", ledger.consistency),
    Route(f"{INST}/ledger/proofs/event", ledger.event_proof),
    Route(f"{INST}/ledger/export", ledger.export),
]


def build_app(settings: EngineSettings) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await run_in_threadpool(migrate_data_dir, settings.data_dir)
        ctx = app.state.ctx = EngineContext.open(
            settings.data_dir, settings.open_tenants, peers=True
        )
        if ctx.notifier.bus is not None:
            ctx.notifier.bus.listen(ctx.notifier)
        try:
            yield
        finally:
            app.state.ctx.close()

    app = Starlette(
        routes=ROUTES,
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[
            Middleware(
                Edge,
                headers=API_HEADERS,
                rate=settings.rate_limit_per_second,
                burst=settings.rate_limit_burst,
                max_bytes=settings.max_body_bytes,
                larger_bodies=(RESULT_PATH, settings.max_result_bytes),
                on_behalf=PROPOSALS_PATH,
            ),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.max_body_bytes = settings.max_body_bytes
    return app


def create_app() -> Starlette:
    """Entry point for `uvicorn --factory functions.engine.app:create_app`."""
    logs.configure("engine")
    app = build_app(EngineSettings.from_env())
    settle_heap()  # a serving process only: tests build apps in their own process
    return app
