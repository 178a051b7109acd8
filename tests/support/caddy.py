"""The project's own Caddyfile run by a real Caddy, with its internal CA for local TLS."""

import os
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from harness.servers import ROOT, free_port, stop_process


@dataclass(frozen=True)
class Caddy:
    portal_url: str
    engine_url: str
    ca_cert: Path

    def tls(self) -> ssl.SSLContext:
        """A client context that trusts Caddy's internal CA."""
        return ssl.create_default_context(cafile=str(self.ca_cert))


@contextmanager
def caddy_proxy(
    folder: Path, console_port: int, engine_port: int, https_port: int | None = None
) -> Iterator[Caddy]:
    """Portal on https://localhost:PORT, engine on https://127.0.0.1:PORT, both via Caddy."""
    binary = shutil.which("caddy")
    if binary is None:
        pytest.fail("caddy is missing: apt-get install caddy (.ci/run installs it)")
    https_port, http_port = https_port or free_port(), free_port()
    storage = folder / "caddy-data"
    options = "\n".join(
        [
            "local_certs",
            "skip_install_trust",
            "admin off",
            f"http_port {http_port}",
            f"https_port {https_port}",
            f"storage file_system {storage}",
        ]
    )
    env = {
        **os.environ,
        "CADDY_GLOBAL_OPTIONS": options,
        "PORTAL_ADDRESS": f"https://localhost:{https_port}",
        "ENGINE_ADDRESS": f"https://127.0.0.1:{https_port}",
        "CONSOLE_UPSTREAM": f"127.0.0.1:{console_port}",
        "ENGINE_UPSTREAM": f"127.0.0.1:{engine_port}",
        "XDG_CONFIG_HOME": str(folder / "caddy-config"),
        "XDG_DATA_HOME": str(folder / "caddy-xdg"),
    }
    log = (folder / "caddy.log").open("w")
    process = subprocess.Popen(
        [binary, "run", "--config", str(ROOT / "Caddyfile"), "--adapter", "caddyfile"],
        env=env,
        stdout=log,
        stderr=log,
    )
    ca_cert = storage / "pki" / "authorities" / "local" / "root.crt"
    caddy = Caddy(f"https://localhost:{https_port}", f"https://127.0.0.1:{https_port}", ca_cert)
    try:
        _wait_for_tls(caddy, process)
        yield caddy
    finally:
        stop_process(process)
        log.close()


def _wait_for_tls(caddy: Caddy, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"caddy exited with {process.returncode}")
        if caddy.ca_cert.exists():
            try:
                for url in (caddy.portal_url, caddy.engine_url):
                    httpx.get(f"{url}/healthz", verify=caddy.tls(), timeout=2)
                return
            except httpx.HTTPError as exc:
                last = exc
        time.sleep(0.1)
    raise RuntimeError(f"caddy did not serve TLS in time: {last}")
