"""The console's domain and the portal UI."""


class PortalError(Exception):
    """Root exception of the portal package."""
