import os
from dataclasses import dataclass
from pathlib import Path


def _required(name: str, minimum: int = 32) -> str:
    value = os.environ.get(name, "")
    if len(value) < minimum:
        raise SystemExit(f"{name} must be set (at least {minimum} characters)")
    return value


@dataclass(frozen=True)
class ConsoleSettings:
    engine_url: str
    engine_public_url: str
    platform_token: str
    session_secret: str
    encryption_key: str
    database_url: str | None
    accounts_sqlite_path: Path
    agent_dist_dir: Path
    secure_cookies: bool = False
    engine_ca_bundle: str | None = None
    login_attempts: int = 5
    login_window_seconds: int = 300
    rate_limit_per_second: float = 10
    rate_limit_burst: int = 60
    migrate_on_start: bool = True

    @classmethod
    def from_env(cls) -> "ConsoleSettings":
        data_dir = Path(os.environ.get("LIBERVIA_DATA_DIR", "./var"))
        engine_url = os.environ.get("ENGINE_URL", "http://127.0.0.1:8700")
        return cls(
            engine_url=engine_url,
            engine_public_url=os.environ.get("ENGINE_PUBLIC_URL", engine_url),
            platform_token=_required("ENGINE_ISE_ADMIN_TOKEN"),
            session_secret=_required("CONSOLE_SESSION_SECRET"),
            encryption_key=_required("CONSOLE_ENCRYPTION_KEY", 43),
            database_url=os.environ.get("LIBERVIA_DATABASE_URL") or None,
            accounts_sqlite_path=data_dir / "accounts.db",
            agent_dist_dir=Path(os.environ.get("AGENT_DIST_DIR", "./dist/agent")),
            secure_cookies=os.environ.get("CONSOLE_SECURE_COOKIES", "false").lower() == "true",
            engine_ca_bundle=os.environ.get("ENGINE_CA_BUNDLE") or None,
            rate_limit_per_second=float(os.environ.get("CONSOLE_RATE_LIMIT_PER_SECOND", "10")),
            rate_limit_burst=int(os.environ.get("CONSOLE_RATE_LIMIT_BURST", "60")),
            migrate_on_start=os.environ.get("CONSOLE_MIGRATE_ON_START", "true").lower() == "true",
        )
