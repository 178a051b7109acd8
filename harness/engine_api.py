"""A thin test client that sets up institutions through the engine's real HTTP API."""

import hashlib
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from harness.servers import ADMIN_TOKEN


class ThreadClients(httpx.Client):
    """An httpx.Client whose requests each thread sends on a client of its own: httpcore's pool
    can close a connection it has just handed to another thread (encode/httpcore#1110; here a
    'Bad file descriptor' under tests that propose from eight threads)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._options = options
        self._own = threading.local()

    def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        client = getattr(self._own, "client", None)
        if client is None:
            client = self._own.client = httpx.Client(**self._options)
        return client.send(request, **kwargs)


# One client for every test request: building one per call (as httpx.post does) loads the CA
# bundle each time, ~30 ms. No keep-alive, so an engine restarted on the same port is met fresh.
HTTP = ThreadClients(timeout=40, limits=httpx.Limits(max_keepalive_connections=0))
# The content a destructive proposal names when a test does not act on a real file.
SEEN = hashlib.sha256(b"what the agent saw").hexdigest()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Institution:
    base: str
    institution_id: str
    admin_key: str
    tokens: dict[str, str] = field(default_factory=dict)
    actor_ids: dict[str, str] = field(default_factory=dict)
    # A real engine's port by default; an in-process app's TestClient (an httpx.Client too).
    http: httpx.Client = field(default=HTTP, repr=False)

    def url(self, path: str) -> str:
        return f"{self.base}/v1/institutions/{self.institution_id}{path}"

    def post(self, path: str, who: str, json: dict | None = None) -> httpx.Response:
        token = self.admin_key if who == "admin" else self.tokens[who]
        return self.http.post(self.url(path), json=json or {}, headers=auth(token))

    def get(self, path: str, who: str, **params) -> httpx.Response:
        token = self.admin_key if who == "admin" else self.tokens[who]
        return self.http.get(self.url(path), params=params, headers=auth(token))

    def propose(self, who: str, action: str, params: dict | None = None, **extra) -> dict:
        response = self.post("/proposals", who, {"action": action, "params": params or {}, **extra})
        assert response.status_code == 201, response.text
        return response.json()


def new_institution(
    base: str,
    *,
    release: bool = True,
    second_owner: bool = False,
    external_id: str | None = None,
    http: httpx.Client = HTTP,
) -> Institution:
    admin = auth(ADMIN_TOKEN)
    created = http.post(
        f"{base}/v1/admin/institutions",
        headers=admin,
        json={"external_id": external_id or f"ext-{uuid.uuid4()}", "name": "Test"},
    )
    assert created.status_code == 201, created.text
    iid = created.json()["institution_id"]
    key = http.post(f"{base}/v1/admin/institutions/{iid}/admin-key", headers=admin)
    assert key.status_code == 201, key.text
    inst = Institution(base, iid, key.json()["admin_key"], http=http)
    roles = {"owner": "owner", "exec": "executive_admin", "agent": "organizational_agent"}
    if second_owner:
        roles["owner2"] = "owner"
    for who, role in roles.items():
        actor = inst.post("/actors", "admin", {"name": who, "role": role})
        assert actor.status_code == 201, actor.text
        inst.tokens[who] = actor.json()["token"]
        inst.actor_ids[who] = actor.json()["actor_id"]
    if release:
        registered = inst.post("/bundles", "admin", {"builtin": "personal_ops@v1.0.0"})
        assert registered.status_code == 201, registered.text
        released = inst.post("/bundles/personal_ops/v1.0.0/release", "admin")
        assert released.status_code == 200, released.text
    return inst
