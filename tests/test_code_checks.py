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


def test_setup_says_one_line_per_step_and_nothing_else():
    proc = subprocess.run(["bash", "scripts/setup"], cwd=ROOT, capture_output=True, text=True, timeout=900)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 0 and proc.stdout == "", proc.stderr
    assert lines and all(line.startswith("setup: ") for line in lines), proc.stderr


def test_the_package_builds_without_warnings_and_carries_its_data_files(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", ".", "-w", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0 and "Warning" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    import zipfile

    names = zipfile.ZipFile(next(tmp_path.glob("*.whl"))).namelist()
    for wanted in ("web/templates/citizen/unlock.html", "web/static/app.css", "storage/postgres/migrations/0001_shared_request_state.sql",
                   "ledger/schemas", "contracts/build/ConsentRegistry.json", "consent_operator/app.py"):
        assert any(name.startswith(wanted) for name in names), wanted
