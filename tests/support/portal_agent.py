"""The real agent, configured from the runtime package a portal user got at onboarding."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

from tests.support.agent_process import configure, running_agent, wait_for


@contextmanager
def agent_for(package: dict, engine: str, folder: Path, work: Path) -> Iterator[Path]:
    """Run the agent of `package` on `folder`; yields its log file."""
    runtime = package["runtime_package"]
    inst = SimpleNamespace(
        institution_id=runtime["institution_id"], tokens={"agent": runtime["agent_token"]}
    )
    config = work / "agent" / "config.json"
    configure(config, inst, engine, folder)
    with running_agent(config, work / "agent.log"):
        yield work / "agent.log"


def settled(user, proposal_id: str, timeout: float = 30) -> dict:
    """The proposal once its state is final, as the portal shows it."""

    def final():
        state = user.get(f"/api/proposals/{proposal_id}").json()["state"]
        return state if state["final"] else None

    return wait_for(final, timeout, f"a final state of {proposal_id}")


def chat_until_proposed(user, text: str, timeout: float = 30) -> dict:
    """Send `text`, and again once the agent has looked when the portal asks it to first."""
    answer = user.post("/api/chat", {"text": text}).json()
    if "inspecting" in answer:
        settled(user, answer["inspecting"], timeout)
        answer = user.post("/api/chat", {"text": text, "inspected": answer["inspecting"]}).json()
    return answer
