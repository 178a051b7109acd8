"""`libervia smoke` against a real console and engine, with the real agent."""

from tests.support.cli import libervia


def test_smoke_walks_the_stack_and_says_each_step(console):
    done = libervia("smoke", "--console-url", console, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    steps = [line for line in done.stdout.splitlines() if line[:3].strip().rstrip(".").isdigit()]
    assert len(steps) == 8, done.stdout
    assert "ledger exported and verified offline" in steps[-1] and " ms " in steps[-1]
    assert "smoke passed" in done.stdout


def test_smoke_fails_with_the_step_when_the_stack_is_not_there():
    done = libervia("smoke", "--console-url", "http://127.0.0.1:9", timeout=60)
    assert done.returncode == 1
    assert "FAILED sign up a sandbox account" in done.stdout
