"""The Engine's HTTP API: the authority."""
