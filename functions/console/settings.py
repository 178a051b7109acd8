import os
from dataclasses import dataclass
from pathlib import Path

from portal.mail import SmtpSettings

SMTP_SECURITY = ("starttls", "tls", "none")


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
    portal_url: str = "http://127.0.0.1:8600"
    smtp: SmtpSettings | None = None
    mail_interval_seconds: float = 5
    mail_retry_seconds: float = 30
    notice_interval_seconds: float = 60
    agent_offline_seconds: float = 1800
    expiry_warning_seconds: float = 7200

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
            portal_url=os.environ.get("PORTAL_PUBLIC_URL", "http://127.0.0.1:8600").rstrip("/"),
            smtp=_smtp(),
            mail_interval_seconds=_number("CONSOLE_MAIL_INTERVAL_SECONDS", 5),
            mail_retry_seconds=_number("CONSOLE_MAIL_RETRY_SECONDS", 30),
            notice_interval_seconds=_number("CONSOLE_NOTICE_INTERVAL_SECONDS", 60),
            agent_offline_seconds=_number("CONSOLE_AGENT_OFFLINE_SECONDS", 1800),
            expiry_warning_seconds=_number("CONSOLE_EXPIRY_WARNING_SECONDS", 7200),
        )


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name, "")
    if raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a number, not {raw!r}") from None
    if value <= 0:
        raise SystemExit(f"{name} must be more than 0")
    return value


def _smtp() -> SmtpSettings | None:
    """The SMTP server mail goes through; none when SMTP_HOST is empty (mail then waits in the
    outbox, and is sent once a server is configured)."""
    host = os.environ.get("SMTP_HOST", "")
    if not host:
        return None
    security = os.environ.get("SMTP_SECURITY", "starttls")
    if security not in SMTP_SECURITY:
        raise SystemExit(f"SMTP_SECURITY must be one of {', '.join(SMTP_SECURITY)}")
    sender = os.environ.get("SMTP_FROM", "")
    if "@" not in sender:
        raise SystemExit("SMTP_FROM must be an email address (the sender of every message)")
    return SmtpSettings(
        host=host,
        port=int(_number("SMTP_PORT", 587)),
        sender=sender,
        username=os.environ.get("SMTP_USERNAME", ""),
        password=os.environ.get("SMTP_PASSWORD", ""),
        security=security,
    )
