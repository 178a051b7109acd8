"""How far the running job got, told to whoever listens (journal, log, engine) at most once a
`every` seconds and always within `every` seconds of a change, however the job's own steps
are spaced (one large file can take a minute to hash).

Its thread starts with the first report, not before: a job forks its helper processes when it
starts, and a process may fork only while it runs one thread (agent.fs.helpers)."""

import threading
from collections.abc import Callable
from typing import Any


class ProgressReporter:
    def __init__(self, sink: Callable[[dict[str, Any]], None], every: float) -> None:
        self.sink, self.every = sink, every
        self._latest: dict[str, Any] | None = None
        self._told: dict[str, Any] | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="progress", daemon=True)

    def __enter__(self) -> "ProgressReporter":
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def update(self, data: dict[str, Any]) -> None:
        """Called by the job as it goes: cheap, it only keeps the latest."""
        with self._lock:
            first = self._latest is None
            self._latest = data
        if first:
            self.flush()  # the first report goes out at once
            self._thread.start()

    def flush(self) -> None:
        with self._lock:
            data = self._latest if self._latest != self._told else None
            self._told = self._latest
        if data is not None:
            self.sink(data)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.flush()
