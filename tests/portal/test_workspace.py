"""What a request in words becomes before the engine judges it."""

import pytest

from portal.workspace import _landed, impact, quarantine_places, retarget


@pytest.mark.parametrize(
    ("action", "params", "expected"),
    [
        # A move into a folder stays one.
        ("move", {"path": "a.txt", "destination": "Arquivo"}, ("move", {"destination": "Arquivo"})),
        ("move", {"path": "a.txt", "destination": "Docs/"}, ("move", {"destination": "Docs/"})),
        # A move to a file's path, as `mv` reads it: into its folder, under its name.
        (
            "move",
            {"path": "Documentos/vazio 3.txt", "destination": "Downloads/vazio 3.txt"},
            ("move", {"destination": "Downloads"}),
        ),
        (
            "move",
            {"path": "Documentos/a.txt", "destination": "Downloads/b.TXT"},
            ("move", {"destination": "Downloads", "new_name": "b.TXT"}),
        ),
        ("move", {"path": "a.txt", "destination": "b.txt"}, ("rename", {"new_name": "b.txt"})),
        ("move", {"path": "Docs/a.txt", "destination": "a.txt"}, ("move", {"destination": "."})),
        # An absolute target goes as said: the engine refuses it.
        (
            "move",
            {"path": "a.txt", "destination": "/etc/a.txt"},
            ("move", {"destination": "/etc/a.txt"}),
        ),
        (
            "rename",
            {"path": "a.txt", "new_name": "/etc/b.txt"},
            ("rename", {"new_name": "/etc/b.txt"}),
        ),
        (
            "move",
            {"path": "Docs/a.txt", "destination": "Docs/b.txt"},
            ("rename", {"new_name": "b.txt"}),
        ),
        # A rename into another folder is one move that renames.
        (
            "rename",
            {"path": "Misc/a.txt", "new_name": "docs/c.txt"},
            ("move", {"destination": "docs", "new_name": "c.txt"}),
        ),
        (
            "rename",
            {"path": "Misc/a.txt", "new_name": "Misc/b.txt"},
            ("rename", {"new_name": "b.txt"}),
        ),
    ],
)
def test_a_move_or_rename_is_read_as_mv_reads_it(action, params, expected):
    path = params["path"]
    want_action, want = expected
    assert retarget(action, dict(params)) == (want_action, {"path": path, **want})


def executed(report: dict) -> dict:
    return {"type": "job.executed", "payload": {"job_id": "job_1", "report": report}}


def test_a_restore_is_said_by_where_the_file_was():
    events = [
        executed(
            {
                "files": [
                    {
                        "path": "Docs/notas.txt",
                        "new_path": ".libervia-quarantine/20261207T101010Z-0a1b2c3d/Docs/notas.txt",
                    },
                    {"path": "x.txt", "status": "refused"},
                ]
            }
        ),
        executed({"restored": "Fotos/praia.jpg", "quarantine_id": "20261207T111111Z-99aa88bb"}),
        {"type": "job.executed", "payload": {"summary": {"count": 3}}},
        executed({"files": [{"new_path": ".libervia-quarantine/x/y"}, "z", None]}),
        executed({"files": "not a list", "restored": ["not", "a", "path"]}),
        {"type": "proposal.allowed", "payload": {"action": "restore"}},
    ]
    places = quarantine_places(events)
    assert places == {
        "20261207T101010Z-0a1b2c3d": "Docs/notas.txt",
        "20261207T111111Z-99aa88bb": "Fotos/praia.jpg",
    }
    restore = {"action": "restore", "params": {"quarantine_id": "20261207T101010Z-0a1b2c3d"}}
    assert impact(restore, {}, places)["summary"] == "restore Docs/notas.txt from the quarantine"
    unknown = {"action": "restore", "params": {"quarantine_id": "20261207T000000Z-00000000"}}
    assert impact(unknown, {}, places)["summary"] == (
        "restore 20261207T000000Z-00000000 from the quarantine"
    )


@pytest.mark.parametrize(
    ("action", "params", "landed"),
    [
        ("rename", {"path": "Docs/a.txt", "new_name": "b.txt"}, "Docs/b.txt"),
        ("rename", {"path": "a.txt", "new_name": "b.txt"}, "b.txt"),
        ("move", {"path": "Docs/a.txt", "destination": "Backup"}, "Backup/a.txt"),
        ("move", {"path": "Docs/a.txt", "destination": ".", "new_name": "c.txt"}, "c.txt"),
        ("delete", {"path": "a.txt"}, None),
    ],
)
def test_where_a_rename_or_move_puts_its_file(action, params, landed):
    assert _landed(action, params) == landed
