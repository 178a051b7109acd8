"""libervia-agent: executes Engine-authorized jobs inside one root_dir."""


class AgentError(Exception):
    """Root exception of the agent package."""
