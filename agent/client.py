import base64
import contextlib
import gzip
import ssl
from typing import Any

import httpx

from agent import AgentError, __version__
from agent.config import AgentConfig
from kernel.canonical import canonical_json
from kernel.engine_answers import refusal, retry_seconds
from kernel.errors import Refused

COMPRESS_FROM = 64 * 1024


class EngineUnavailable(AgentError):
    """Network trouble, a 5xx or a 429: try again later, after `retry_after` seconds when the
    engine said when (`Retry-After`). (A 4xx is the engine's refusal, a
    `kernel.errors.Refused` of the kind its status says.)"""

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def trust(ca_bundle: str | None) -> ssl.SSLContext | bool:
    """The system's CAs, or only the given CA file (a private or staging CA)."""
    return ssl.create_default_context(cafile=ca_bundle) if ca_bundle else True


def trace_headers(trace: dict[str, str | None] | None) -> dict[str, str]:
    """The job's request_id and case_id, so the engine's log lines join the console's."""
    trace = trace or {}
    headers = {"X-Request-ID": trace.get("request_id"), "X-Case-ID": trace.get("case_id")}
    return {name: value for name, value in headers.items() if value}


class EngineClient:
    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        self.http = httpx.Client(
            base_url=f"{config.engine_base_url}/v1/institutions/{config.institution_id}",
            headers={
                "Authorization": f"Bearer {config.actor_token}",
                "User-Agent": f"libervia-agent/{__version__}",
            },
            verify=trust(config.ca_bundle),
            timeout=httpx.Timeout(10, read=config.poll_wait_seconds + 15),
        )

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise EngineUnavailable(f"engine unreachable: {exc}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise EngineUnavailable(
                f"engine answered {response.status_code}; will retry",
                retry_seconds(response.headers.get("retry-after")),
            )
        if response.status_code >= 400:
            raise refusal(response.status_code, response.content)
        try:
            return response.json()
        except ValueError as exc:
            raise EngineUnavailable(f"engine answered non-JSON ({response.status_code})") from exc

    def poll(self, wait: int) -> list[dict[str, Any]]:
        return self._call("GET", "/runtime/jobs", params={"wait": wait})["jobs"]

    def lease(self, job_id: str, trace: dict[str, str | None] | None = None) -> dict[str, Any]:
        return self._call(
            "POST",
            f"/runtime/jobs/{job_id}/lease",
            json={"lease_seconds": self.config.lease_seconds},
            headers=trace_headers(trace),
        )

    def post_result(
        self,
        job_id: str,
        status: str,
        report: dict[str, Any],
        trace: dict[str, str | None] | None = None,
    ) -> dict[str, Any]:
        """Reports of any size: past COMPRESS_FROM bytes the body goes gzip-compressed (a
        listing of 100,000 files is ~15 MB of JSON, ~5 MB compressed)."""
        body = canonical_json({"status": status, "report": report})
        headers = {**trace_headers(trace), "Content-Type": "application/json"}
        if len(body) > COMPRESS_FROM:
            body = gzip.compress(body, compresslevel=6, mtime=0)
            headers["Content-Encoding"] = "gzip"
        return self._call("POST", f"/runtime/jobs/{job_id}/result", content=body, headers=headers)

    def progress(self, job_id: str, data: dict[str, Any]) -> None:
        """Best effort: a lost progress report changes nothing but the progress bar."""
        with contextlib.suppress(EngineUnavailable, Refused):
            self._call("POST", f"/runtime/jobs/{job_id}/progress", json=data)

    def contract(self) -> dict[str, Any]:
        return self._call("GET", "/contract")

    def public_key(self) -> str:
        url = f"{self.config.engine_base_url}/v1/public-key"
        return str(self._call("GET", url)["public_key"])

    def checkpoint(self) -> dict[str, Any]:
        return self._call("GET", "/ledger/checkpoint")

    def consistency(self, old: int, size: int) -> list[bytes]:
        body = self._call("GET", "/ledger/proofs/consistency", params={"from": old, "to": size})
        try:
            return [base64.b64decode(h, validate=True) for h in body["proof"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise EngineUnavailable(f"engine answered a malformed proof: {exc}") from exc

    def report_witness(self, problem: str, seen: int, shown: int | None) -> None:
        """Best effort: the alarm stands in the agent whatever the engine answers."""
        with contextlib.suppress(EngineUnavailable, Refused):
            self._call(
                "POST",
                "/runtime/witness",
                json={"problem": problem, "seen_size": seen, "shown_size": shown},
            )

    def close(self) -> None:
        self.http.close()
