"""A real TCP proxy in front of the engine that can cut connections around result posts."""

import socket
import threading


def _read_message(sock: socket.socket) -> bytes | None:
    """One HTTP/1.1 message with a Content-Length body (all the agent and engine exchange)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        body += chunk
    return head + b"\r\n\r\n" + body


class FaultProxy:
    """drop_result_requests: cut the connection before a result post reaches the engine.
    drop_result_responses: forward the post, then cut before the agent sees the answer."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.drop_result_requests = 0
        self.drop_result_responses = 0
        self.results_forwarded = 0
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _take(self, name: str) -> bool:
        with self._lock:
            if getattr(self, name) > 0:
                setattr(self, name, getattr(self, name) - 1)
                return True
            return False

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        except OSError:  # the engine is down (a test killed it): the caller sees a reset
            client.close()
            return
        try:
            while (request := _read_message(client)) is not None:
                is_result = b"/result " in request.split(b"\r\n", 1)[0]
                if is_result and self._take("drop_result_requests"):
                    return
                upstream.sendall(request)
                response = _read_message(upstream)
                if response is None:
                    return
                if is_result:
                    with self._lock:
                        self.results_forwarded += 1
                    if self._take("drop_result_responses"):
                        return
                client.sendall(response)
        except OSError:
            return
        finally:
            client.close()
            upstream.close()

    def close(self) -> None:
        self.server.close()
