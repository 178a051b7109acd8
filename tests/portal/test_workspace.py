"""What a request in words becomes before the engine judges it."""

import pytest

from portal.workspace import retarget


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
