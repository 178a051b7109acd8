"""Small helpers every package may import (the agent binary included): times, ids, canonical
JSON, the SQLite file helper and the error vocabulary. Nothing here imports another package of
the project."""
