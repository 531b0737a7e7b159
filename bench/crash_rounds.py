"""Kill -9 under load: rounds of SIGKILL to an operator worker, the log writer, a PDS worker
and the whole PDS while a citizen writes CV versions and a service reads them (with
replicas over PostgreSQL: a whole replica, and the worker that sequences the log).

Each round kills one target (in turn) while the load runs, waits for the system to heal
(gunicorn replaces workers, the stack restarts a dead PDS, workers commit the log
themselves when the writer is gone), and checks: every write the PDS acknowledged reads
back; no client got an HTTP 500; at the end an independent audit of the log passes.
Connection resets and honest 502/503 answers while a process is down are counted, not
hidden.

Run: .venv/bin/python bench/crash_rounds.py [--rounds 50]   (tests/test_crash_rounds.py runs 4)
     .venv/bin/python bench/crash_rounds.py --replicas 2        (whole replicas killed behind HAProxy)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stack_people import People  # noqa: E402
from devchain.nodes import child_pids, wait_until  # noqa: E402
from devchain.postgres import PostgresServer  # noqa: E402
from ledger.audit import run_audit  # noqa: E402
from ledger.citizen import OperatorError  # noqa: E402
from ledger.registry import registry_factory  # noqa: E402
from mydata.ports import Ports
from mydata.stack import Stack  # noqa: E402
from pds.client import PdsClientError  # noqa: E402
from storage.postgres.pool import PostgresDatabase  # noqa: E402
from storage.postgres.sequencer import sequencer_pid  # noqa: E402

TARGETS = ("operator worker", "log writer", "pds worker", "pds")
REPLICATED_TARGETS = ("replica", "sequencer")  # a whole operator or PDS replica behind HAProxy (mydata up --replicas); the worker that sequences the log


@dataclass
class Tally:
    """What the clients saw, summed over all rounds."""

    writes_acknowledged: dict[int, list] = field(default_factory=dict)  # version -> the section written
    statuses: Counter = field(default_factory=Counter)  # HTTP status (or "connection") -> count
    examples: dict = field(default_factory=dict)  # outcome -> the first failure seen with it
    lock: threading.Lock = field(default_factory=threading.Lock)

    def saw(self, outcome, what: str = "") -> None:
        with self.lock:
            self.statuses[outcome] += 1
            if what:
                self.examples.setdefault(outcome, what)


def _cmdline(pid: int) -> str:
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read().replace(b"\0", b" ").decode()


class CrashRounds:
    """A citizen with a `work` area, a service with read consent, and the load between them."""

    def __init__(self, stack: Stack, wallet_path: Path):
        self.stack = stack
        people = People(stack, wallet_path)
        self.agent, self.service = people.agent, people.service
        people.consent()
        self.tally = Tally()

    # ---- load ------------------------------------------------------------------------
    def _write(self, n: int) -> None:
        section = [{"name": f"Employer {n}", "position": "Developer"}]
        try:
            version = self.agent.save_section("work", section)
        except (PdsClientError, OperatorError, requests.RequestException) as exc:
            self.tally.saw(_outcome(exc), f"write: {type(exc).__name__}: {exc}"[:300])
            return
        with self.tally.lock:
            self.tally.writes_acknowledged[version] = section
        self.tally.saw("write ok")

    def _read(self) -> None:
        try:
            self.service.read_area(self.agent.id, "work")
            self.tally.saw("read ok")
        except Exception as exc:  # noqa: BLE001 - every kind of failure is counted by its outcome
            self.tally.saw(_outcome(exc), f"read: {type(exc).__name__}: {exc}"[:300])

    def _load(self, stop: threading.Event) -> None:
        readers = [threading.Thread(target=self._reader_loop, args=(stop,)) for _ in range(3)]
        for t in readers:
            t.start()
        n = 0
        while not stop.is_set():
            self._write(n)
            n += 1
        for t in readers:
            t.join()

    def _reader_loop(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self._read()

    # ---- kills -----------------------------------------------------------------------
    def _proc(self, name: str):
        return dict(self.stack._procs)[name]

    def kill(self, target: str) -> None:
        """SIGKILL one process of `target` and wait until the system serves again."""
        if target == "replica":
            name = random.choice(sorted(self.stack._replica_ports))
            proc = self._proc(name)
            os.killpg(proc.pid, signal.SIGKILL)
            wait_until(lambda: proc.poll() is not None, f"{name} to exit")
            assert self.stack.restart_failed() == name
            return
        if target == "sequencer":
            self._kill_sequencer()
            return
        if target == "pds":
            proc = self._proc("pds")
            os.killpg(proc.pid, signal.SIGKILL)
            wait_until(lambda: proc.poll() is not None, "the PDS to exit")
            assert self.stack.restart_failed() == "pds"
            return
        master = self._proc("operator" if target != "pds worker" else "pds").pid
        children = child_pids(master)
        writers = [p for p in children if "log_writer_process" in _cmdline(p)]
        victims = writers if target == "log writer" else [p for p in children if p not in writers]
        if not victims:
            return  # the writer was killed in an earlier round (workers commit themselves)
        victim = random.choice(victims)
        os.kill(victim, signal.SIGKILL)
        if target != "log writer":
            wait_until(lambda: victim not in child_pids(master) and len(child_pids(master)) == len(children), f"a new {target}")

    def _kill_sequencer(self) -> None:
        """SIGKILL the process that holds the log's sequencer lock (a replica's log writer;
        its workers then append through their own sequencers), and wait until another
        process holds it."""
        assert self.stack.database_url is not None
        db = PostgresDatabase(self.stack.database_url)
        try:
            wait_until(lambda: sequencer_pid(db) is not None, "a log sequencer")
            victim = sequencer_pid(db)
            assert victim is not None
            os.kill(victim, signal.SIGKILL)
            wait_until(lambda: sequencer_pid(db) not in (None, victim), "a new log sequencer")
        finally:
            db.close()

    def round(self, target: str, load_seconds: float = 0.6) -> None:
        stop = threading.Event()
        load = threading.Thread(target=self._load, args=(stop,))
        load.start()
        time.sleep(load_seconds / 2)
        self.kill(target)
        time.sleep(load_seconds / 2)
        stop.set()
        load.join()

    # ---- checks ----------------------------------------------------------------------
    def lost_writes(self) -> list[int]:
        """Acknowledged versions that do not read back as written."""
        lost = []
        for version, section in sorted(self.tally.writes_acknowledged.items()):
            try:
                if self.agent.pds.read_version("work", version) != section:
                    lost.append(version)
            except PdsClientError:
                lost.append(version)
        return lost

    def audit(self) -> int:
        from consent_operator.keystore import admin_token

        token = admin_token(self.stack.data_dir / "operator")
        resp = requests.post(self.stack.url("operator") + "/ledger/anchor", headers={"Authorization": f"Bearer {token}"}, timeout=120)
        resp.raise_for_status()
        state = self.stack.data_dir / "auditor.json"
        return run_audit(self.stack.url("operator"), registry_factory(self.stack.chain_url), state).size


def _outcome(exc: BaseException):
    """An HTTP status for answered failures, "connection" for resets and refusals."""
    if isinstance(exc, OperatorError):
        return exc.problem.get("status", "problem")
    if isinstance(exc, PdsClientError):
        return exc.status
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return exc.response.status_code
    if isinstance(exc, requests.RequestException):
        return "connection"
    return type(exc).__name__


def run(rounds: int, data_dir: Path, targets: tuple[str, ...] = TARGETS, replicas: int = 1, database_url: str | None = None) -> dict:
    with Stack(data_dir / "stack", Ports.free(), replicas=replicas, database_url=database_url) as stack:
        crash = CrashRounds(stack, data_dir / "wallet.json")
        for i in range(rounds):
            crash.round(targets[i % len(targets)])
        wait_until(lambda: requests.get(stack.url("operator") + "/ledger/info", timeout=5).ok, "the operator")
        lost = crash.lost_writes()
        size = crash.audit()
        return {"rounds": rounds, "lost": lost, "acknowledged": len(crash.tally.writes_acknowledged),
                "statuses": dict(crash.tally.statuses), "examples": crash.tally.examples, "audited_size": size, "restarts": dict(stack.restarts)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=50)
    ap.add_argument("--replicas", type=int, default=1, help="run N operator replicas over PostgreSQL behind HAProxy and kill whole replicas")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        targets = REPLICATED_TARGETS if args.replicas > 1 else TARGETS
        with PostgresServer() if args.replicas > 1 else contextlib.nullcontext() as pg:
            url = pg.create_database("bench") if pg else None
            report = run(args.rounds, Path(tmp), targets, replicas=args.replicas, database_url=url)
        elapsed = time.perf_counter() - t0
    statuses = report["statuses"]
    served = statuses.get("read ok", 0) + statuses.get("write ok", 0)
    failures = {k: v for k, v in statuses.items() if k not in ("read ok", "write ok")}
    print(f"{report['rounds']} rounds of SIGKILL ({', '.join(targets)}) in {elapsed:.0f} s")
    print(f"acknowledged writes: {report['acknowledged']}, lost: {len(report['lost'])}")
    print(f"requests served: {served}; failed: {sum(failures.values())} ({failures or 'none'}); HTTP 500: {statuses.get(500, 0)}")
    print(f"audit of {report['audited_size']} log entries: passed; stack restarts: {report['restarts']}")
    for outcome, example in report["examples"].items():
        print(f"  first {outcome}: {example}")


if __name__ == "__main__":
    main()
