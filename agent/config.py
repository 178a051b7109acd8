import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlparse

from agent import AgentError

INSTITUTION_ID = re.compile(r"inst_[0-9a-f]{24}")
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


def default_config_path() -> Path:
    if env := os.environ.get("LIBERVIA_AGENT_CONFIG"):
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "libervia-agent" / "config.json"


@dataclass(frozen=True)
class AgentConfig:
    institution_id: str
    actor_token: str
    engine_base_url: str
    root_dir: str
    state_dir: str
    ca_bundle: str | None = None
    poll_wait_seconds: int = 25
    lease_seconds: int = 300

    @property
    def journal_path(self) -> Path:
        return Path(self.state_dir) / "journal.db"

    @property
    def hash_cache_path(self) -> Path:
        return Path(self.state_dir) / "hashes.db"

    def redacted(self) -> dict:
        data = asdict(self)
        data["actor_token"] = self.actor_token[:8] + "…" if self.actor_token else ""
        return data


def validate(config: AgentConfig) -> AgentConfig:
    """Refuse what would make the agent unsafe or unable to run; return it normalized."""
    if not INSTITUTION_ID.fullmatch(config.institution_id):
        raise AgentError(f"institution id {config.institution_id!r} is malformed (inst_ + 24 hex)")
    if not config.actor_token or any(c.isspace() for c in config.actor_token):
        raise AgentError("actor token is empty or contains spaces")
    url = urlparse(config.engine_base_url)
    if url.scheme not in ("https", "http") or not url.hostname:
        raise AgentError(f"engine base url {config.engine_base_url!r} must be https://host[:port]")
    if url.scheme == "http" and url.hostname not in LOCAL_HOSTS:
        raise AgentError("plain http is allowed only for a local engine; use https")
    root = Path(config.root_dir).expanduser()
    if not root.is_absolute():
        root = Path.cwd() / root
    if not root.is_dir():
        raise AgentError(f"root dir {root} does not exist or is not a folder")
    if root.resolve() == Path("/"):
        raise AgentError("root dir cannot be the filesystem root")
    if config.ca_bundle and not Path(config.ca_bundle).is_file():
        raise AgentError(f"CA bundle {config.ca_bundle} not found")
    return AgentConfig(
        **{
            **asdict(config),
            "engine_base_url": config.engine_base_url.rstrip("/"),
            "root_dir": str(root.resolve()),
            "state_dir": str(Path(config.state_dir).expanduser().resolve()),
        }
    )


def save(config: AgentConfig, path: Path) -> None:
    """Written with 0600 permissions: the file holds the actor token."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(asdict(config), handle, indent=2)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def load(path: Path) -> AgentConfig:
    if not path.is_file():
        raise AgentError(f"no configuration at {path}; run `libervia-agent configure` first")
    if path.stat().st_mode & 0o077:
        raise AgentError(f"{path} is readable by others; run `chmod 600 {path}`")
    try:
        data = json.loads(path.read_text())
        return AgentConfig(**data)
    except (json.JSONDecodeError, TypeError) as exc:
        raise AgentError(f"{path} is not a valid agent configuration: {exc}") from exc
