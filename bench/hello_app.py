"""The smallest Starlette app: the reference the engine's endpoints are compared with.

`POST /commit/{n}` is the smallest durable write over HTTP: it parses the JSON body and makes
one raw durable commit (bench.raw_sqlite) to file n of BENCH_COMMIT_DIR, in a thread as the
engine does. It is what any Python web app pays per acknowledged write, whatever it decides.
"""

import json
import os
import sqlite3
import threading
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bench.raw_sqlite import commit_once, raw_connection

_files: dict[int, tuple[sqlite3.Connection, threading.Lock]] = {}
_opening = threading.Lock()


def _commit(n: int, body: str) -> None:
    with _opening:
        if n not in _files:
            path = Path(os.environ["BENCH_COMMIT_DIR"]) / f"{n}.db"
            _files[n] = (raw_connection(path), threading.Lock())
        conn, lock = _files[n]
    with lock:  # one writer per connection
        commit_once(conn, body)


async def hello(request: Request) -> JSONResponse:
    return JSONResponse({"hello": "world"})


async def commit(request: Request) -> JSONResponse:
    body = json.loads(await request.body())
    await run_in_threadpool(_commit, request.path_params["n"], json.dumps(body))
    return JSONResponse({"committed": True}, status_code=201)


def create_app() -> Starlette:
    """Entry point for `uvicorn --factory bench.hello_app:create_app`."""
    return Starlette(routes=[Route("/", hello), Route("/commit/{n:int}", commit, methods=["POST"])])
