"""libervia-agent: executes Engine-authorized jobs inside one root_dir."""

__version__ = "0.1.0"  # SemVer; the same as pyproject.toml's (a test holds them equal)


class AgentError(Exception):
    """Root exception of the agent package."""
