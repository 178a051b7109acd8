"""The benchmarks drive the apps through the harness, never through the tests' code."""

import pkgutil
import subprocess
import sys

import bench
from harness.servers import ROOT


def test_no_benchmark_imports_the_tests():
    names = [f"bench.{m.name}" for m in pkgutil.iter_modules(bench.__path__)]
    assert "bench.agent_poll" in names
    script = f"import importlib, sys; [importlib.import_module(n) for n in {names!r}];"
    script += " print(sorted({m.split('.')[0] for m in sys.modules}))"
    loaded = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert "'tests'" not in loaded and "'harness'" in loaded
