"""Work the console does in the background, in rounds: a daemon thread that runs one round
every `interval` seconds, or at once when woken, until stopped. A failing round is logged and
the next one tries again; nothing here is on a request's path."""

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("libervia.rounds")


class Rounds:
    def __init__(self, name: str, work: Callable[[], object], interval: float) -> None:
        self.name, self.work, self.interval = name, work, interval
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()  # a wake from here on calls for another round
            try:
                self.work()
            except Exception:  # the store or the engine is down: the next round tries again
                log.exception("%s round failed", self.name)
            self._wake.wait(self.interval)
