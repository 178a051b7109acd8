import os
from dataclasses import dataclass
from pathlib import Path

from functions.http import DEFAULT_MAX_BODY
from tenants.tenant import DEFAULT_MAX_OPEN

# Worker processes the engine runs with (the Procfile's and compose's default for
# ENGINE_WORKERS): institutions are independent, so their decisions use every core.
DEFAULT_WORKERS = 2
# An agent's result (a listing of 100,000 files is ~15 MB of JSON) comes gzip-compressed: its
# own limits, on the wire and once expanded.
DEFAULT_MAX_RESULT_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_RESULT_EXPANDED_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class EngineSettings:
    data_dir: Path
    admin_token: str
    max_body_bytes: int = DEFAULT_MAX_BODY
    max_result_bytes: int = DEFAULT_MAX_RESULT_BYTES
    max_result_expanded_bytes: int = DEFAULT_MAX_RESULT_EXPANDED_BYTES
    long_poll_max_seconds: int = 30
    rate_limit_per_second: float = 20
    rate_limit_burst: int = 100
    open_tenants: int = DEFAULT_MAX_OPEN

    @classmethod
    def from_env(cls) -> "EngineSettings":
        token = os.environ.get("ENGINE_ISE_ADMIN_TOKEN", "")
        if len(token) < 32:
            raise SystemExit("ENGINE_ISE_ADMIN_TOKEN must be set (at least 32 characters)")
        return cls(
            data_dir=Path(os.environ.get("LIBERVIA_DATA_DIR", "./var")),
            admin_token=token,
            max_body_bytes=int(os.environ.get("ENGINE_MAX_BODY_BYTES", DEFAULT_MAX_BODY)),
            max_result_bytes=_positive(
                os.environ.get("ENGINE_MAX_RESULT_BYTES", str(DEFAULT_MAX_RESULT_BYTES)),
                "ENGINE_MAX_RESULT_BYTES",
            ),
            max_result_expanded_bytes=_positive(
                os.environ.get(
                    "ENGINE_MAX_RESULT_EXPANDED_BYTES", str(DEFAULT_MAX_RESULT_EXPANDED_BYTES)
                ),
                "ENGINE_MAX_RESULT_EXPANDED_BYTES",
            ),
            long_poll_max_seconds=int(os.environ.get("ENGINE_LONG_POLL_MAX_SECONDS", "30")),
            rate_limit_per_second=float(os.environ.get("ENGINE_RATE_LIMIT_PER_SECOND", "20")),
            rate_limit_burst=int(os.environ.get("ENGINE_RATE_LIMIT_BURST", "100")),
            open_tenants=_positive(os.environ.get("ENGINE_OPEN_TENANTS", str(DEFAULT_MAX_OPEN))),
        )


def _positive(value: str, name: str = "ENGINE_OPEN_TENANTS") -> int:
    if not value.isdigit() or int(value) < 1:
        raise SystemExit(f"{name} must be a positive integer, not {value!r}")
    return int(value)
