"""The state a person reads under a request, from the engine's proposal and job."""

import pytest

from portal import i18n
from portal.follow import describe


def proposal(status="approved", **extra):
    return {
        "status": status,
        "reason": "r",
        "expires_at": "2026-12-02T10:00:00Z",
        "decision_reason": extra.pop("decision_reason", None),
        **extra,
    }


def job(status, result_status=None, result=None, action="delete", result_bytes=None):
    return {
        "status": status,
        "result_status": result_status,
        "result": result,
        "action": action,
        "result_bytes": result_bytes,
    }


OFFLINE = {"online": False, "last_seen_at": "2026-12-01T08:00:00Z"}
ONLINE = {"online": True, "last_seen_at": "2026-12-01T08:00:00Z"}


@pytest.mark.parametrize(
    ("prop", "the_job", "agent", "state", "message"),
    [
        (proposal("pending_approval"), None, None, "awaiting_approval", "waiting for approval"),
        (proposal("denied"), None, None, "denied", "denied by the engine: r"),
        (proposal("rejected", decision_reason="keep"), None, None, "rejected", "rejected: keep"),
        (proposal("expired"), None, None, "expired", "nobody approved it in time"),
        (proposal(), job("queued"), OFFLINE, "waiting_agent", "offline since 12/1/26"),
        (proposal(), job("queued"), ONLINE, "queued", "your agent will pick it up"),
        (proposal(), job("leased"), None, "running", "running on your agent"),
        (proposal(), job("expired"), None, "expired", "did not run it in time"),
        (
            proposal(),
            job("done", "refused", {"error": {"code": "target_exists", "message": "x"}}),
            None,
            "failed",
            "failed: something with the new name is already there; nothing was overwritten",
        ),
        (
            proposal(),
            job("done", "failed", {"error": {"code": "new_code", "message": "disk on fire"}}),
            None,
            "failed",
            "failed: disk on fire",
        ),
        (
            proposal(),
            job("done", "succeeded", {"quarantine_path": ".libervia-quarantine/q/a.txt"}),
            None,
            "done",
            "done: moved to .libervia-quarantine/q/a.txt (restorable)",
        ),
        (
            proposal("authorized"),
            job("done", "succeeded", None, "list_files", 2_000_000),
            None,
            "done",
            "done: 2.0 MB of results kept by the engine",
        ),
        (
            proposal("authorized"),
            job("done", "succeeded", {"count": 1, "files": []}, "list_files"),
            None,
            "done",
            "done: 1 file listed",
        ),
    ],
)
def test_each_step_reads_in_plain_words(prop, the_job, agent, state, message):
    described = describe(prop, the_job, agent)
    assert described.state == state
    assert message in described.message
    assert described.final == (state in ("done", "failed", "denied", "rejected", "expired"))


def test_a_running_scan_shows_how_far_it_got():
    hashing = {
        **job("leased", action="list_files"),
        "progress": {"phase": "hashing", "done": 4000, "total": 10000, "bytes": 1_234_567_890},
    }
    state = describe(proposal("authorized"), hashing, None)
    assert state.message == "running on your agent: hashing 4,000 of 10,000 files (1.2 GB so far)"
    assert state.progress == {
        "phase": "hashing",
        "done": 4000,
        "total": 10000,
        "bytes": 1_234_567_890,
    }
    scanning = {**hashing, "progress": {"phase": "scanning", "done": 1000}}
    assert (
        describe(proposal(), scanning, None).message
        == "running on your agent: looking through your folder, 1,000 files found"
    )


@pytest.mark.parametrize(
    ("language", "action", "report", "message"),
    [
        ("en", "quarantine_files", {"files": [], "quarantined": 1}, "1 file quarantined"),
        ("en", "quarantine_files", {"files": [], "quarantined": 3}, "3 files quarantined"),
        ("en", "purge", {"files": [], "purged": 1, "refused": 1}, "1 file erased; 1 left alone"),
        ("pt_BR", "purge", {"files": [], "purged": 1}, "concluído: 1 arquivo eliminado"),
        ("pt_BR", "purge", {"files": [], "purged": 2}, "concluído: 2 arquivos eliminados"),
        (
            "pt_BR",
            "quarantine_files",
            {"files": [], "quarantined": 1, "refused": 1},
            "1 arquivo em quarentena (recuperável); 1 deixado como estava (mudou ou sumiu)",
        ),
    ],
)
def test_a_count_of_files_is_said_in_the_singular_or_the_plural(language, action, report, message):
    with i18n.speaking(language):
        described = describe(proposal(), job("done", "succeeded", report, action), None)
    assert message in described.message


def test_progress_over_one_file_is_said_in_the_singular():
    one = {
        **job("leased", action="detect_duplicates"),
        "progress": {"phase": "hashing", "total": 1},
    }
    assert describe(proposal(), one, None).message == "running on your agent: hashing 0 of 1 file"
    with i18n.speaking("pt_BR"):
        comparing = {**one, "progress": {"phase": "comparing", "done": 1, "total": 2}}
        assert describe(proposal(), comparing, None).message == (
            "rodando no seu agente: comparando o conteúdo de 1 de 2 arquivos"
        )
