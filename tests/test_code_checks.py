"""Static checks that keep the code base honest, run with every test: ruff (lint and import
order), import-linter (imports only point down: CLI, apps, services, ledger library; the log
formats import nothing else) and mypy, strict on the ledger library and the storage backends
(`[tool.mypy]`)."""

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


def test_mypy_strict_passes_where_it_is_required():
    proc = _run("mypy")
    assert proc.returncode == 0, proc.stdout + proc.stderr
