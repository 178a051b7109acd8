import time
from pathlib import Path
from typing import Any

import httpx

from agent.client import EngineClient, EngineUnavailable
from agent.config import AgentConfig
from agent.journal import Journal
from agent.witness import STATE, read_state
from kernel.errors import Forbidden, Refused, Unauthorized
from ledger.witness import Seen


def engine_reachability(config: AgentConfig) -> dict[str, Any]:
    client = EngineClient(config)
    started = time.monotonic()
    try:
        contract = client.contract()
        return {
            "reachable": True,
            "authorized": True,
            "contract_ref": contract["ref"],
            "latency_ms": round((time.monotonic() - started) * 1000, 1),
        }
    except Refused as exc:
        refused = isinstance(exc, (Unauthorized, Forbidden))
        return {"reachable": True, "authorized": not refused, "error": f"{exc.code}: {exc}"}
    except (EngineUnavailable, httpx.HTTPError) as exc:
        return {"reachable": False, "authorized": None, "error": str(exc)}
    finally:
        client.close()


def witness_state(config: AgentConfig) -> dict[str, Any]:
    state = read_state(Path(config.state_dir) / STATE)
    if state.get("alarm"):
        return {"status": "alarm", "problem": state["alarm"], "since": state.get("alarm_at")}
    if state.get("seen"):
        size = Seen(**state["seen"]).size
        return {"status": "ok", "size": size, "checked_at": state.get("checked_at")}
    return {"status": "not yet", "detail": "checked before the first job"}


def collect(config: AgentConfig) -> dict[str, Any]:
    journal = Journal(config.journal_path)
    try:
        return {
            "config": config.redacted(),
            "engine": engine_reachability(config),
            "witness": witness_state(config),
            "undelivered_results": len(journal.unacknowledged()),
            "in_progress": journal.progress(),
            "last_jobs": journal.recent(10),
        }
    finally:
        journal.close()


def render(status: dict[str, Any]) -> str:
    config, engine = status["config"], status["engine"]
    lines = [
        f"institution   {config['institution_id']}",
        f"root dir      {config['root_dir']}",
        f"engine        {config['engine_base_url']}",
    ]
    if engine["reachable"] and engine["authorized"]:
        lines.append(
            f"connection    ok ({engine['latency_ms']} ms, contract {engine['contract_ref']})"
        )
    elif engine["reachable"]:
        lines.append(f"connection    reachable but refused: {engine['error']}")
    else:
        lines.append(f"connection    UNREACHABLE: {engine['error']}")
    witness = status["witness"]
    if witness["status"] == "alarm":
        lines.append(f"ledger        ALARM, every job refused: {witness['problem']}")
    elif witness["status"] == "ok":
        lines.append(
            f"ledger        witnessed: {witness['size']} events extend what this agent saw"
            f" (at {witness['checked_at']})"
        )
    else:
        lines.append("ledger        not witnessed yet (checked before the first job)")
    lines.append(f"undelivered   {status['undelivered_results']} result(s)")
    for item in status["in_progress"]:
        total = f"/{item['total']}" if item.get("total") else ""
        lines.append(
            f"in progress   {item['job_id']} {item.get('phase', '')} "
            f"{item.get('done', '')}{total} (at {item['updated_at']})"
        )
    lines.append("last jobs:" if status["last_jobs"] else "last jobs:    none yet")
    for job in status["last_jobs"]:
        outcome = job["result_status"] or job["state"]
        lines.append(f"  {job['started_at']}  {job['action']:<18} {outcome:<10} {job['job_id']}")
    return "\n".join(lines)
