"""Static checks that keep the code base honest, run with every test: ruff (lint and import
order) and import-linter (imports only point down: CLI, apps, services, ledger library)."""

import subprocess
import sys
from pathlib import Path

from .conftest import ROOT

BIN = Path(sys.executable).parent


def _run(tool: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / tool), *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_finds_nothing():
    proc = _run("ruff", "check", ".")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_imports_point_down_only():
    proc = _run("lint-imports")
    assert proc.returncode == 0 and "0 broken" in proc.stdout, proc.stdout + proc.stderr
