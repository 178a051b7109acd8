"""A signed-in portal user driving the console's real HTTP API."""

import ssl
import uuid

import httpx


class ConsoleUser:
    def __init__(self, base: str, verify: ssl.SSLContext | bool = True) -> None:
        self.http = httpx.Client(
            base_url=base, timeout=30, headers={"Origin": base.rstrip("/")}, verify=verify
        )
        self.csrf = self.http.get("/api/session").json()["csrf_token"]
        self.email = f"user-{uuid.uuid4().hex[:8]}@example.org"
        self.password = "correct horse battery staple"

    def post(
        self, path: str, body: dict | None = None, headers: dict | None = None, **kwargs
    ) -> httpx.Response:
        headers = {"X-CSRF-Token": self.csrf, **(headers or {})}
        return self.http.post(path, json=body or {}, headers=headers, **kwargs)

    def get(self, path: str, **params) -> httpx.Response:
        return self.http.get(path, params=params)

    def sign_up(self) -> "ConsoleUser":
        response = self.post("/api/signup", {"email": self.email, "password": self.password})
        assert response.status_code == 201, response.text
        self.csrf = response.json()["csrf_token"]
        return self

    def onboard(self, name: str = "Ana's files") -> dict:
        response = self.post("/api/onboarding", {"name": name})
        assert response.status_code == 200, response.text
        return response.json()
