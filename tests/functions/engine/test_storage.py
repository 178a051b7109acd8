"""The engine process over its real files: exports beside writers, a full disk, missing and
corrupt institution files, and a bounded number of open institutions."""

import concurrent.futures
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from harness.engine_api import SEEN, Institution, auth, new_institution
from harness.servers import ADMIN_TOKEN, ROOT, engine_process
from ledger.offline import verify_file

NO_LIMITS = {"ENGINE_RATE_LIMIT_PER_SECOND": "0", "LIBERVIA_LOG_LEVEL": "WARNING"}


def propose_many(inst: Institution, count: int, clients: int = 8) -> None:
    def one(n: int) -> None:
        inst.propose("agent", "list_files", {"path": f"dir{n}"})

    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(count)))


def test_exports_beside_writers_verify_and_never_hold_them_up(tmp_path):
    with engine_process(tmp_path / "data", tmp_path / "engine.log", **NO_LIMITS) as base:
        inst = new_institution(base)
        propose_many(inst, 1500)  # ~3,000 events: each export takes a while
        public_key = httpx.get(f"{base}/v1/public-key").json()["public_key"]
        stop = threading.Event()
        writes: list[tuple[int, float]] = []
        exports: list[Path] = []

        def writer() -> None:
            with httpx.Client(timeout=30) as client:
                while not stop.is_set():
                    started = time.monotonic()
                    answer = client.post(
                        inst.url("/proposals"),
                        json={"action": "delete", "params": {"path": "x.txt", "sha256": SEEN}},
                        headers=auth(inst.tokens["agent"]),
                    )
                    writes.append((answer.status_code, time.monotonic() - started))

        def exporter(fmt: str) -> None:
            with httpx.Client(timeout=60) as client:
                while not stop.is_set():
                    answer = client.get(
                        inst.url("/ledger/export"),
                        params={"format": fmt},
                        headers=auth(inst.tokens["owner"]),
                    )
                    assert answer.status_code == 200, answer.text
                    path = tmp_path / f"export-{len(exports)}.{fmt}"
                    path.write_bytes(answer.content)
                    exports.append(path)

        threads = [threading.Thread(target=writer) for _ in range(6)]
        threads += [threading.Thread(target=exporter, args=(f,)) for f in ("jsonl", "sqlite")]
        for thread in threads:
            thread.start()
        stop.wait(5)  # five seconds of writers and exports side by side
        stop.set()
        for thread in threads:
            thread.join(60)

    statuses = {status for status, _ in writes}
    assert statuses == {201}, statuses
    slowest = max(seconds for _, seconds in writes)
    assert slowest < 1.0, f"a writer waited {slowest:.2f} s beside the exports"
    assert len(exports) >= 4
    for path in exports:
        report = verify_file(path, public_key)
        assert report.ok and report.signed_seq == report.chain.events, (path, report)


def test_a_missing_or_corrupt_institution_file_is_a_503_for_it_alone(tmp_path):
    data_dir = tmp_path / "data"
    with engine_process(data_dir, tmp_path / "engine.log", **NO_LIMITS) as base:
        corrupt, missing, healthy = (new_institution(base, external_id=n) for n in "cmh")
    (data_dir / "institutions" / corrupt.institution_id / "institution.db").write_bytes(
        b"\0garbage" * 4096
    )
    (data_dir / "institutions" / missing.institution_id / "institution.db").unlink()

    with engine_process(data_dir, tmp_path / "engine.log", **NO_LIMITS) as base:
        for broken in (corrupt, missing):
            broken.base = base
            answer = broken.get("/ledger/verify", "owner")
            assert answer.status_code == 503, answer.text
            assert answer.json()["error"]["code"] == "institution_unavailable"
            assert answer.headers["retry-after"]
        healthy.base = base
        assert healthy.propose("agent", "list_files", {"path": "."})["decision"] == "allowed"
        assert healthy.get("/ledger/verify", "owner").json()["ok"] is True
        unknown = httpx.get(
            f"{base}/v1/institutions/inst_{'0' * 24}/ledger/verify",
            headers=auth(healthy.tokens["owner"]),
        )
        assert unknown.status_code == 404 and unknown.json()["error"]["code"]
        again = httpx.post(  # onboarding it again never starts a new, empty ledger
            f"{base}/v1/admin/institutions",
            headers=auth(ADMIN_TOKEN),
            json={"external_id": "m", "name": "m"},
        )
        assert again.status_code == 503, again.text


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def engine_pid(base: str) -> int:
    port = base.rsplit(":", 1)[1]
    found = subprocess.run(
        ["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True, check=True
    )
    return int(found.stdout.split("pid=")[1].split(",")[0])


def test_open_institutions_are_bounded_and_reopened_on_demand(tmp_path):
    env = {**NO_LIMITS, "ENGINE_OPEN_TENANTS": "8"}
    with engine_process(tmp_path / "data", tmp_path / "engine.log", **env) as base:
        pid = engine_pid(base)
        first = [new_institution(base) for _ in range(10)]
        for inst in first:
            inst.get("/runtime/jobs", "agent")
        before = open_fds(pid)
        more = [new_institution(base) for _ in range(50)]
        for inst in more:
            inst.propose("agent", "list_files", {"path": "."})
            inst.get("/runtime/jobs", "agent")
        after = open_fds(pid)
        assert after - before < 16, (before, after)
        for inst in first:  # evicted long ago: reopened on demand, nothing lost
            assert inst.get("/ledger/verify", "owner").json()["ok"] is True


def can_mount_tmpfs(target: Path) -> bool:
    target.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(target)], capture_output=True
    )
    return done.returncode == 0


def fill(disk: Path) -> Path:
    filler = disk / "filler"
    with filler.open("wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass
    return filler


def test_a_full_disk_answers_json_507_and_loses_nothing(tmp_path):
    disk = tmp_path / "disk"
    if not can_mount_tmpfs(disk):
        if os.environ.get("CI"):
            pytest.fail("mounting a small tmpfs (to fill a real disk) needs root, as CI has")
        pytest.skip("mounting a tmpfs needs root")
    try:
        data_dir = disk / "data"
        with engine_process(data_dir, tmp_path / "engine.log", **NO_LIMITS) as base:
            inst = new_institution(base)
            acknowledged = [inst.propose("agent", "list_files", {"path": "."})["proposal_id"]]
            filler = fill(disk)
            answers = []
            for n in range(40):
                answer = httpx.post(
                    inst.url("/proposals"),
                    json={"action": "delete", "params": {"path": f"{'x' * 2000}{n}"}},
                    headers=auth(inst.tokens["agent"]),
                )
                answers.append(answer)
                if answer.status_code == 201:
                    acknowledged.append(answer.json()["proposal_id"])
            created = httpx.post(
                f"{base}/v1/admin/institutions",
                headers=auth(ADMIN_TOKEN),
                json={"external_id": "while-full", "name": "Full"},
            )
            answers.append(created)
            refused = [a for a in answers if a.status_code != 201]
            assert refused, "the disk never filled up"
            for answer in refused:
                assert answer.status_code == 507, answer.text
                assert answer.json()["error"]["code"] == "insufficient_storage"

            filler.unlink()
            acknowledged.append(inst.propose("agent", "list_files", {"path": "."})["proposal_id"])
            assert inst.get("/ledger/verify", "owner").json()["ok"] is True
            for proposal_id in acknowledged:
                assert inst.get(f"/proposals/{proposal_id}", "owner").status_code == 200
        checked = subprocess.run(
            [sys.executable, "-m", "functions.cli", "check", "--data-dir", str(data_dir)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert checked.returncode == 0, checked.stdout
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_bad_values_in_the_environment_stop_the_engine_with_one_line(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", "from functions.engine.app import create_app; create_app()"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "ENGINE_ISE_ADMIN_TOKEN": ADMIN_TOKEN,
            "LIBERVIA_DATA_DIR": str(tmp_path),
            "ENGINE_OPEN_TENANTS": "zero",
        },
        timeout=60,
    )
    assert done.returncode != 0
    assert done.stderr.strip() == "ENGINE_OPEN_TENANTS must be a positive integer, not 'zero'"
