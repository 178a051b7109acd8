"""Nothing outside root_dir is ever read, listed, moved or deleted, whatever the path says."""

import contextlib
import hashlib
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.fs import FsError
from agent.fs.executor import execute

SEGMENTS = st.sampled_from(
    [
        "..",
        ".",
        "",
        "docs",
        "out",
        "link_dir",
        "link_file",
        "secret.txt",
        "a.txt",
        "x\x00y",
        "/",
        "//",
        "docs/..",
        "~",
        "\\..\\",
    ]
)
PATHS = st.lists(SEGMENTS, min_size=0, max_size=5).map("/".join)
ABSOLUTE = st.sampled_from(["/etc/passwd", "/", "/tmp"])
FIXTURE_OK = [HealthCheck.function_scoped_fixture]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    base = tmp_path_factory.mktemp("world")
    outside = base / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"do not touch")
    root = base / "root"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "a.txt").write_bytes(b"inside")
    os.symlink(outside, root / "link_dir")
    os.symlink(outside / "secret.txt", root / "link_file")
    os.symlink("../../outside", root / "docs" / "out")
    return root, outside


def reset(root) -> None:
    """Put the one inside file back at docs/a.txt, wherever an example moved it."""
    for folder, _, files in os.walk(root):
        for name in files:
            found = os.path.join(folder, name)
            if not os.path.islink(found) and found != str(root / "docs" / "a.txt"):
                os.rename(found, root / "docs" / "a.txt")


def outside_untouched(outside) -> None:
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert (outside / "secret.txt").read_bytes() == b"do not touch"


def reports_mention_outside(report) -> bool:
    text = repr(report)
    return "do not touch" in text or "secret.txt" in text


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.one_of(PATHS, ABSOLUTE),
    action=st.sampled_from(["list_files", "detect_duplicates", "delete", "rename", "move"]),
)
def test_no_path_escapes_the_root(world, path, action):
    root, outside = world
    params = {"path": path}
    if action == "rename":
        params["new_name"] = "renamed.txt"
    if action == "move":
        params["destination"] = "moved"
    try:
        report = execute(root, action, params, {})
    except FsError:
        report = None
    outside_untouched(outside)
    assert not reports_mention_outside(report)
    if action in ("delete", "rename", "move") and report is not None:
        # Only the one real file inside the root can ever be acted upon.
        assert report["files"][0]["path"] == "docs/a.txt"
    reset(root)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(destination=st.one_of(PATHS, ABSOLUTE), new_name=st.one_of(PATHS, ABSOLUTE))
def test_no_destination_escapes_the_root(world, destination, new_name):
    root, outside = world
    for action, params in (
        ("move", {"path": "docs/a.txt", "destination": destination}),
        ("rename", {"path": "docs/a.txt", "new_name": new_name}),
    ):
        with contextlib.suppress(FsError):
            execute(root, action, params, {})
        outside_untouched(outside)
        reset(root)


def test_symlinked_folders_and_files_are_refused_by_name(world):
    root, outside = world
    for path in ("link_dir/secret.txt", "link_file", "docs/out/secret.txt"):
        with pytest.raises(FsError) as refused:
            execute(root, "delete", {"path": path}, {})
        assert refused.value.code == "path_refused"
    listed = execute(root, "list_files", {"path": "."}, {})
    assert [f["path"] for f in listed["files"]] == ["docs/a.txt"]
    outside_untouched(outside)


@pytest.mark.parametrize(
    ("action", "params"),
    [
        (
            "delete",
            {
                "path": "docs/.config/state/journal.db",
                "sha256": hashlib.sha256(b"journal").hexdigest(),
            },
        ),
        ("rename", {"path": "docs/.config/state/journal.db", "new_name": "old.db"}),
        ("move", {"path": "big.bin", "destination": "docs/.config/state"}),
        ("list_files", {"path": "docs/.config/state"}),
    ],
)
def test_nothing_in_the_agents_own_state_is_touched(tmp_path, action, params):
    """The agent's state folder inside root_dir (a home folder as root, say)."""
    root = tmp_path / "root"
    root.mkdir()
    (root / "big.bin").write_bytes(b"big")
    state = root / "docs" / ".config" / "state"
    state.mkdir(parents=True)
    (state / "journal.db").write_bytes(b"journal")
    with pytest.raises(FsError) as refused:
        execute(root, action, params, {}, None, state / "hashes.db")
    assert refused.value.code == "path_refused"
    assert "agent's own state" in refused.value.message
    assert {p.name for p in state.iterdir()} - {"hashes.db"} == {"journal.db"}
    assert (state / "journal.db").read_bytes() == b"journal"
    assert (root / "big.bin").exists()


@pytest.mark.parametrize(
    ("action", "params"),
    [
        ("delete", {"path": "agent.json", "sha256": hashlib.sha256(b"token").hexdigest()}),
        ("rename", {"path": "agent.json", "new_name": "old.json"}),
        ("move", {"path": "agent.json", "destination": "docs"}),
    ],
)
def test_the_agents_configuration_inside_the_root_is_never_touched(tmp_path, action, params):
    """A configuration file in root_dir (it holds the agent's token) is no file of the
    person's: it is not listed, and no job moves or deletes it."""
    root = tmp_path / "root"
    (root / "docs").mkdir(parents=True)
    config = root / "agent.json"
    config.write_bytes(b"token")
    (root / "docs" / "copy.json").write_bytes(b"token")
    own = [config]
    listed = execute(root, "list_files", {"path": "."}, {}, None, None, own)
    assert [f["path"] for f in listed["files"]] == ["docs/copy.json"]
    found = execute(root, "detect_duplicates", {"path": "."}, {}, None, None, own)
    assert found["groups"] == []
    with pytest.raises(FsError) as refused:
        execute(root, action, params, {}, None, None, own)
    assert refused.value.code == "path_refused"
    assert "agent's own files" in refused.value.message
    assert config.read_bytes() == b"token" and not (root / "docs" / "agent.json").exists()
    plain = execute(root, "list_files", {"path": "."}, {}, None)  # told nothing: listed
    assert "agent.json" in [f["path"] for f in plain["files"]]
