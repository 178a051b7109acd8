"""The console's only way to the Engine: its HTTP API, with per-institution credentials."""

import ssl
from collections.abc import Callable
from typing import Any

import httpx

from kernel.engine_answers import refusal
from kernel.errors import (
    BadRequest,
    Unavailable,
)


class EngineClient:
    def __init__(
        self,
        base_url: str,
        platform_token: str,
        *,
        ca_bundle: str | None = None,
        timeout: float = 15,
        trace_headers: Callable[[], dict[str, str]] = dict,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.trace_headers = trace_headers
        self.platform_token = platform_token
        # Only the given CA file when there is one (a private CA), else the system's.
        verify = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else True
        self.http = httpx.Client(base_url=self.base_url, verify=verify, timeout=timeout)

    def call(
        self,
        method: str,
        path: str,
        token: str,
        *,
        ok: tuple[int, ...] = (200, 201),
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        try:
            response = self.http.request(
                method,
                path,
                headers={
                    "Authorization": f"Bearer {token}",
                    **self.trace_headers(),
                    **(headers or {}),
                },
                **kwargs,
            )
        except httpx.InvalidURL as exc:
            raise BadRequest("the request names something malformed", code="bad_request") from exc
        except httpx.HTTPError as exc:
            raise Unavailable(
                f"the engine is unreachable: {exc}", code="engine_unreachable"
            ) from exc
        if response.status_code in ok:
            return response
        raise refusal(response.status_code, response.content, response.headers.get("retry-after"))

    def inst(self, institution_id: str, path: str) -> str:
        return f"/v1/institutions/{institution_id}{path}"

    def create_institution(self, external_id: str, name: str) -> dict[str, Any]:
        return self.call(
            "POST",
            "/v1/admin/institutions",
            self.platform_token,
            json={"external_id": external_id, "name": name},
        ).json()

    def bootstrap_admin_key(self, institution_id: str) -> str:
        response = self.call(
            "POST", f"/v1/admin/institutions/{institution_id}/admin-key", self.platform_token
        )
        return response.json()["admin_key"]

    def create_actor(
        self, institution_id: str, admin_key: str, name: str, role: str
    ) -> dict[str, Any]:
        return self.call(
            "POST",
            self.inst(institution_id, "/actors"),
            admin_key,
            json={"name": name, "role": role},
        ).json()

    def release_builtin(
        self, institution_id: str, admin_key: str, name: str, version: str
    ) -> dict[str, Any]:
        self.call(
            "POST",
            self.inst(institution_id, "/bundles"),
            admin_key,
            json={"builtin": f"{name}@v{version}"},
        )
        return self.call(
            "POST", self.inst(institution_id, f"/bundles/{name}/v{version}/release"), admin_key
        ).json()

    def activate_department(
        self, institution_id: str, admin_key: str, department: str
    ) -> dict[str, Any]:
        return self.call(
            "POST", self.inst(institution_id, f"/departments/{department}/activate"), admin_key
        ).json()

    def get(self, institution_id: str, path: str, token: str, **params: Any) -> Any:
        return self.call("GET", self.inst(institution_id, path), token, params=params).json()

    def post(self, institution_id: str, path: str, token: str, body: dict[str, Any]) -> Any:
        return self.call("POST", self.inst(institution_id, path), token, json=body).json()

    def export(self, institution_id: str, token: str, fmt: str) -> httpx.Response:
        return self.call(
            "GET", self.inst(institution_id, "/ledger/export"), token, params={"format": fmt}
        )

    def close(self) -> None:
        self.http.close()
