"""Start the real apps as real processes on free ports."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
ADMIN_TOKEN = "test-platform-admin-token-0123456789abcdef"
CONSOLE_KEY = "dGVzdC1jb25zb2xlLWVuY3J5cHRpb24ta2V5LTMyYnk"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not become healthy")


def start_uvicorn(
    factory: str, env: dict[str, str], port: int, log_path: Path | None = None, workers: int = 1
) -> subprocess.Popen:
    """`uvicorn --factory FACTORY` as a real process in its own process group (with `workers`
    above 1 it is a supervisor and its workers); with log_path its JSON logs go there."""
    log = log_path.open("a") if log_path else None
    try:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                factory,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "info" if log_path else "warning",
                *(["--workers", str(workers)] if workers > 1 else []),
            ],
            cwd=ROOT,
            env={**os.environ, **env},
            stderr=log,
            start_new_session=True,
        )
    finally:
        if log:
            log.close()  # the child keeps its own descriptor


@contextmanager
def uvicorn_process(
    factory: str,
    env: dict[str, str],
    health: str = "/healthz",
    log_path: Path | None = None,
    port: int | None = None,
    workers: int = 1,
) -> Iterator[str]:
    """A started, healthy uvicorn process on a free port; yields its base URL."""
    port = port or free_port()
    process = start_uvicorn(factory, env, port, log_path, workers)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(f"{base}{health}", process)
        yield base
    finally:
        stop_process(process)


@contextmanager
def console_process(
    data_dir: Path,
    engine_url: str,
    database_url: str | None,
    log_path: Path | None = None,
    **env: str,
) -> Iterator[str]:
    environment = {
        "LIBERVIA_DATA_DIR": str(data_dir),
        "ENGINE_ISE_ADMIN_TOKEN": ADMIN_TOKEN,
        "ENGINE_URL": engine_url,
        "CONSOLE_SESSION_SECRET": "test-session-secret-0123456789abcdefghij",
        "CONSOLE_ENCRYPTION_KEY": CONSOLE_KEY,
        "LIBERVIA_DATABASE_URL": database_url or "",
        "AGENT_DIST_DIR": str(data_dir / "dist"),
        **env,
    }
    with uvicorn_process(
        "functions.console.app:create_app", environment, log_path=log_path
    ) as base:
        yield base


@contextmanager
def engine_process(
    data_dir: Path,
    log_path: Path | None = None,
    port: int | None = None,
    workers: int = 1,
    **env: str,
) -> Iterator[str]:
    environment = {"LIBERVIA_DATA_DIR": str(data_dir), "ENGINE_ISE_ADMIN_TOKEN": ADMIN_TOKEN, **env}
    with uvicorn_process(
        "functions.engine.app:create_app",
        environment,
        log_path=log_path,
        port=port,
        workers=workers,
    ) as base:
        yield base


def json_lines(path: Path) -> list[dict]:
    """The JSON log lines a process wrote (other lines, if any, are skipped)."""
    import json

    lines = []
    for line in path.read_text().splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def signal_group(process: subprocess.Popen, signum: int) -> None:
    """Signal a process started by `start_uvicorn` and its workers (its process group)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def stop_process(process: subprocess.Popen, timeout: float = 15) -> None:
    """SIGTERM, then SIGKILL if it does not exit in time (its process group when it has one)."""
    own_group = os.getpgid(process.pid) == process.pid if process.poll() is None else False
    if process.poll() is None:
        if own_group:
            signal_group(process, signal.SIGTERM)
        else:
            process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            if own_group:
                signal_group(process, signal.SIGKILL)
            else:
                process.kill()
            process.wait()
