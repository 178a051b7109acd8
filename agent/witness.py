"""The agent as a witness of its institution's ledger: before it takes jobs it checks that the
engine's newest checkpoint extends the last one it verified. A rewritten or rolled-back ledger
(or a new signing key) stops it: it refuses every job, says why in its log and `status`, tells
the engine, and stays stopped until `libervia-agent witness --reset`."""

import json
import os
from pathlib import Path
from typing import Any

from agent.client import EngineClient
from agent.config import AgentConfig
from kernel.times import utc_now
from ledger.witness import Seen, WitnessAlarm, judge

STATE = "witness.json"


class Witness:
    def __init__(self, config: AgentConfig, client: EngineClient) -> None:
        self.config = config
        self.client = client
        self.path = Path(config.state_dir) / STATE

    def state(self) -> dict[str, Any]:
        return read_state(self.path)

    def check(self) -> Seen:
        """The checkpoint now trusted; raises WitnessAlarm (and remembers it) otherwise."""
        state = self.state()
        if state.get("alarm"):
            raise WitnessAlarm(state["alarm"])
        seen = Seen(**state["seen"]) if state.get("seen") else None
        public_key = seen.public_key if seen else self.client.public_key()
        latest = self.client.checkpoint()
        try:
            trusted = judge(
                self.config.institution_id,
                public_key,
                seen,
                latest["note"],
                latest["signature"],
                self.client.consistency,
            )
        except WitnessAlarm as exc:
            self._save({**state, "alarm": str(exc), "alarm_at": utc_now()})
            self.client.report_witness(str(exc), seen.size if seen else 0, latest.get("size"))
            raise
        self._save({"seen": vars(trusted), "checked_at": utc_now()})
        return trusted

    def reset(self) -> None:
        """Trust the engine afresh (after the operator looked into the alarm)."""
        self.path.unlink(missing_ok=True)

    def _save(self, state: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(state, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)


def read_state(path: Path) -> dict[str, Any]:
    try:
        state = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        return {"alarm": f"the witness state {path} is unreadable"}
    return state if isinstance(state, dict) else {"alarm": f"the witness state {path} is damaged"}
