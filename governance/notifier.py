import asyncio
import threading


class JobNotifier:
    """Wakes long-polls of an institution when one of its jobs becomes available."""

    def __init__(self) -> None:
        self._waiters: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}
        self._lock = threading.Lock()

    def register(self, institution_id: str) -> asyncio.Event:
        event = asyncio.Event()
        with self._lock:
            self._waiters.setdefault(institution_id, set()).add((asyncio.get_running_loop(), event))
        return event

    def unregister(self, institution_id: str, event: asyncio.Event) -> None:
        with self._lock:
            waiters = self._waiters.get(institution_id, set())
            for item in [w for w in waiters if w[1] is event]:
                waiters.discard(item)
            if not waiters:
                self._waiters.pop(institution_id, None)

    def notify(self, institution_id: str) -> None:
        """Callable from any thread."""
        with self._lock:
            waiters = list(self._waiters.get(institution_id, ()))
        for loop, event in waiters:
            loop.call_soon_threadsafe(event.set)
