import hashlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from functions.engine.app import build_app as build_engine
from functions.engine.settings import EngineSettings
from harness.engine_api import Institution, new_institution
from harness.servers import ADMIN_TOKEN, ROOT, console_process, engine_process
from kernel.times import CLOCK, Clock
from tests.support.console_api import ConsoleUser
from tests.support.databases import postgres_schema_url, require_postgres
from tests.support.smtp import Mailbox, smtp_env, smtp_server


@pytest.fixture(scope="session")
def engine_data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("engine-data")


@pytest.fixture(scope="session")
def engine(engine_data_dir) -> Iterator[str]:
    """One real engine process shared by tests; each test makes its own institution."""
    with engine_process(engine_data_dir) as base:
        yield base


@pytest.fixture
def inst(engine) -> Institution:
    return new_institution(engine)


@pytest.fixture
def engine_app(tmp_path) -> Iterator[TestClient]:
    """The engine's app in this process (Starlette's TestClient) on its own real data dir:
    for what the HTTP layer and governance decide, without a process or a port."""
    settings = EngineSettings(
        data_dir=tmp_path / "engine-data", admin_token=ADMIN_TOKEN, rate_limit_per_second=0
    )
    settings.data_dir.mkdir()
    with TestClient(build_engine(settings), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def clock() -> Iterator[Clock]:
    """The engine's clock, for tests that run it in process: `clock.advance(seconds)`."""
    yield CLOCK
    CLOCK.reset()


@pytest.fixture
def local_inst(engine_app) -> Institution:
    """An institution of the in-process engine, set up like `inst`."""
    return new_institution(str(engine_app.base_url), http=engine_app)


@pytest.fixture
def console_database_url() -> Iterator[str]:
    """The console's accounts store: a PostgreSQL schema of its own."""
    require_postgres()
    with postgres_schema_url() as database_url:
        yield database_url


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """A real SMTP server of the test's own: the console sends every email to it."""
    with smtp_server() as box:
        yield box


@pytest.fixture
def console(engine, tmp_path, console_database_url, mailbox) -> Iterator[str]:
    """A real console process on its own PostgreSQL schema, wired to the shared engine, sending
    its email to the test's SMTP server."""
    with console_process(
        tmp_path / "console", engine, console_database_url, None, **smtp_env(mailbox)
    ) as base:
        yield base


@pytest.fixture
def watching_console(engine, tmp_path, console_database_url, mailbox) -> Iterator[str]:
    """A console that looks for news twice a second; every pending approval counts as about to
    expire, and an agent quiet for 2 s as offline."""
    env = {
        **smtp_env(mailbox),
        "CONSOLE_NOTICE_INTERVAL_SECONDS": "0.5",
        "CONSOLE_EXPIRY_WARNING_SECONDS": str(3 * 86400),
        "CONSOLE_AGENT_OFFLINE_SECONDS": "2",
    }
    with console_process(tmp_path / "console", engine, console_database_url, None, **env) as base:
        yield base


@pytest.fixture
def make_user(console):
    """Portal users (each with its own cookie jar) on the console; closed after the test."""
    users = []

    def make() -> ConsoleUser:
        users.append(ConsoleUser(console))
        return users[-1]

    yield make
    for user in users:
        user.http.close()


@pytest.fixture(scope="session")
def agent_binary():
    """`make agent` builds the PyInstaller binary and SHA256SUMS for this OS/arch."""
    subprocess.run(["make", "agent"], cwd=ROOT, check=True, capture_output=True, timeout=900)
    sums = (ROOT / "dist" / "agent" / "SHA256SUMS").read_text().split()
    digest, name = sums[0], sums[1]
    binary = ROOT / "dist" / "agent" / name
    assert hashlib.sha256(binary.read_bytes()).hexdigest() == digest
    return binary
