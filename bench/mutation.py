"""Mutation score of the security-critical modules: mutmut changes one operator,
constant or string at a time, runs the tests that cover it, and counts the mutants that no
test notices. Modules and tests are listed under [tool.mutmut] in pyproject.toml.

Run: .venv/bin/python bench/mutation.py        (about 3 minutes on 2 cores; writes mutants/)
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTMUT = [sys.executable, "-m", "mutmut"]


def main() -> None:
    shutil.rmtree(ROOT / "mutants", ignore_errors=True)
    # mutmut names a mutant by its file's path and the tests import operator/ as consent_operator:
    # a link gives the operator's files their import name for the run (mutants/consent_operator/).
    link = ROOT / "consent_operator"
    link.symlink_to("operator", target_is_directory=True)
    try:
        subprocess.run([*MUTMUT, "run", "--max-children", "2"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        subprocess.run([*MUTMUT, "export-cicd-stats"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        survivors = subprocess.run([*MUTMUT, "results"], cwd=ROOT, check=True, capture_output=True, text=True).stdout
    finally:
        link.unlink()
    stats = json.loads((ROOT / "mutants" / "mutmut-cicd-stats.json").read_text())
    by_function = Counter(line.split("__mutmut_")[0].strip() for line in survivors.splitlines() if line.strip().endswith("survived"))
    tested = stats["total"] - stats["no_tests"] - stats.get("skipped", 0)
    caught = stats["killed"] + stats["timeout"]
    print(f"mutants: {stats['total']}, covered by the selected tests: {tested}")
    print(f"caught: {caught} ({caught / tested:.1%}), survived: {stats['survived']}, timed out (caught): {stats['timeout']}")
    for function, count in by_function.most_common():
        print(f"  survivors in {function}: {count}")


if __name__ == "__main__":
    main()
