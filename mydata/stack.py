"""The whole system as child processes on 127.0.0.1, for `mydata up` and `mydata demo`.

Chain (embedded unless a node URL is given), registry deployment, PDS, operator and,
for the demo, two witnesses that cosign the operator's checkpoints, the CV service, the
citizen app and the auditor view (which names the witnesses of the latest anchor). With `replicas` > 1 the
operator and the PDS each run as that many replicas over one PostgreSQL database (the given
one, or a local server kept in DATA_DIR/postgres), each behind HAProxy on its own port. Each process logs to DATA_DIR/logs/<name>.log; `stop`
ends them in reverse order, so the operator never outlives its chain or PDS. A process that
dies while the stack runs is started again (its data is on disk), not the end of the stack.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from devchain.nodes import ROOT, DevNode, StartupError, free_port, wait_for_http
from devchain.postgres import PostgresServer
from ledger.chain import ChainError

from . import load_balancer
from .ports import Ports


@dataclass
class Stack:
    data_dir: Path
    ports: Ports
    chain_url: str | None = None
    apps: bool = False  # two witnesses, the CV service, the citizen app (on `wallet`) and the auditor view too
    wallet: Path | None = None
    passphrase: str | None = None  # given to the citizen app (MYDATA_PASSPHRASE): it unlocks `wallet` as soon as it exists
    anchor_seconds: float = 30.0
    replicas: int = 1
    database_url: str | None = None
    _node: DevNode | None = None
    _postgres: PostgresServer | None = None
    _replica_ports: dict[str, int] = field(default_factory=dict)
    _witness_keys: dict[str, str] = field(default_factory=dict)  # process name -> the witness's verifier key
    _procs: list[tuple[str, subprocess.Popen]] = field(default_factory=list)
    _commands: dict[str, tuple[str, list[str], dict[str, str]]] = field(default_factory=dict)
    restarts: dict[str, int] = field(default_factory=dict)

    @property
    def witness_keys(self) -> dict[str, str]:
        """The running witnesses' verifier keys, by process name (none without `apps`)."""
        return dict(self._witness_keys)

    def url(self, name: str) -> str:
        port = self._replica_ports.get(name) or getattr(self.ports, name)
        return f"http://127.0.0.1:{port}"

    @property
    def urls(self) -> dict[str, str]:
        out = {"chain": self.chain_url, "pds": self.url("pds"), "operator": self.url("operator")}
        out.update({name: self.url(name) for name in self._replica_ports})
        if self.apps:
            out.update({name.replace("_", " "): self.url(name) for name in self._witness_keys})
            out.update({"cv service": self.url("cv_service"), "citizen app": self.url("citizen_app"), "auditor view": self.url("auditor_view")})
        return out

    def start(self) -> Stack:
        try:
            if self.chain_url is None:
                self._node = DevNode("embedded", self.data_dir / "chain", port=self.ports.chain, log_file=self._log_path("chain"))
                try:
                    self._node.start()
                except ChainError:
                    raise StartupError(f"the embedded chain did not start (is port {self.ports.chain} taken?)") from None
                self.chain_url = self._node.url
            op_dir = self.data_dir / "operator"
            from consent_operator.chain.deployment import deploy_registry  # here: `mydata operator` must set up its metrics before the operator package loads

            self.deployment, _ = deploy_registry(self.chain_url, op_dir)
            if self.replicas > 1:
                self._start_database()
                self._start_replicas("pds", "/openapi.json", lambda port: self._pds_args(op_dir, port))
            else:
                self._spawn("pds", "/openapi.json", *self._pds_args(op_dir, self.ports.pds))
            if self.apps:
                self._start_witnesses(op_dir)
            if self.replicas > 1:
                self._start_replicas("operator", "/ledger/info", lambda port: self._operator_args(op_dir, port))
            else:
                self._spawn("operator", "/ledger/info", *self._operator_args(op_dir, self.ports.operator))
            if self.apps:
                self._start_apps()
        except BaseException:
            self.stop()
            raise
        return self

    def _pds_args(self, op_dir: Path, port: int) -> list:
        args = ["pds", "--data-dir", self.data_dir / "pds", "--operator-dir", op_dir, "--port", port]
        return args + (["--database-url", self.database_url] if self.replicas > 1 and self.database_url else [])

    def _operator_args(self, op_dir: Path, port: int) -> list:
        args = ["operator", "--chain", self.chain_url, "--data-dir", op_dir, "--port", port, "--pds", self.url("pds"), "--anchor-seconds", self.anchor_seconds]
        for name, vkey in self._witness_keys.items():
            args += ["--witness", f"{self.url(name)}={vkey}"]
        return args + (["--database-url", self.database_url] if self.database_url else [])

    def _start_witnesses(self, op_dir: Path) -> None:
        """Two witnesses of the operator's log, each with its own key and memory."""
        from consent_operator.config import OperatorConfig
        from consent_operator.keystore import provision
        from witness.keys import cosigner

        log_vkey = provision(op_dir, OperatorConfig.log_origin)["log verifier key"]
        for n in (1, 2):
            name, data = f"witness_{n}", self.data_dir / f"witness-{n}"
            witness_name = f"witness-{n}.localhost/mydata"
            self._witness_keys[name] = cosigner(data, witness_name).key.vkey
            self._spawn(name, "/", "witness", "--name", witness_name, "--data-dir", data, "--log", log_vkey, "--port", getattr(self.ports, name))

    def _start_database(self) -> None:
        """The PostgreSQL database the replicas share (a throwaway server unless given), migrated."""
        from storage.backends import PostgresBackend

        if self.database_url is None:
            self._postgres = PostgresServer(folder=self.data_dir / "postgres").start()
            self.database_url = self._postgres.create_database("operator")
        backend = PostgresBackend(self.database_url)
        backend.migrate()
        backend.db.close()

    def _start_replicas(self, role: str, health: str, args_for: Callable[[int], list]) -> None:
        """N replicas of `role` (operator or pds) over the shared database, HAProxy on the role's port."""
        for i in range(1, self.replicas + 1):
            name = f"{role}-{i}"
            self._replica_ports[name] = free_port()
            self._spawn(name, health, *args_for(self._replica_ports[name]))
        config = self.data_dir / f"haproxy-{role}.cfg"
        config.write_text(load_balancer.haproxy_config(getattr(self.ports, role), [self._replica_ports[f"{role}-{i}"] for i in range(1, self.replicas + 1)], health))
        load_balancer.check_config(config)
        self._spawn_command(role, health, load_balancer.haproxy_command(config))

    def _start_apps(self) -> None:
        common = ["--operator", self.url("operator"), "--chain", self.chain_url]
        unlock = {"MYDATA_PASSPHRASE": self.passphrase} if self.passphrase else {}
        self._spawn(
            "citizen_app", "/static/app.css", "citizen-app", *common, "--pds", self.url("pds"), "--wallet", self.wallet, "--port", self.ports.citizen_app,
            env=unlock,
        )
        self._spawn(
            "cv_service", "/healthz", "cv-service", *common, "--data-dir", self.data_dir / "cv-service", "--port", self.ports.cv_service,
            "--citizen-app", self.url("citizen_app"),
        )
        witnesses = [arg for vkey in self._witness_keys.values() for arg in ("--witness", vkey)]
        self._spawn("auditor_view", "/static/app.css", "auditor-view", *common, "--state", self.data_dir / "auditor" / "view-state.json", "--port", self.ports.auditor_view, *witnesses)

    def _log_path(self, name: str) -> Path:
        (self.data_dir / "logs").mkdir(parents=True, exist_ok=True)
        return self.data_dir / "logs" / f"{name}.log"

    def _spawn(self, name: str, health: str, *args, env: dict[str, str] | None = None) -> None:
        """Run `mydata ARGS` as process `name` (with `env` added to this one's environment)
        and wait until `health` answers 200."""
        self._spawn_command(name, health, [sys.executable, "-m", "mydata", *map(str, args)], env)

    def _spawn_command(self, name: str, health: str, command: list[str], env: dict[str, str] | None = None) -> None:
        self._commands[name] = (health, command, env or {})
        with open(self._log_path(name), "ab") as log:  # the child keeps its own descriptor
            proc = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env={**os.environ, **(env or {})})
        self._procs = [(n, p) for n, p in self._procs if n != name] + [(name, proc)]
        try:
            wait_for_http(self.url(name) + health, proc, timeout=120)
        except StartupError:
            raise StartupError(f"{name} did not start; see {self._log_path(name)}") from None

    def failed(self) -> str | None:
        """The name of a process that exited on its own, if any."""
        return next((name for name, p in self._procs if p.poll() is not None), None)

    def restart_failed(self) -> str | None:
        """Start again a process that exited on its own; returns its name (None if all run)."""
        name = self.failed()
        if name is not None:
            self.restarts[name] = self.restarts.get(name, 0) + 1
            with open(self._log_path(name), "ab") as log:
                log.write(f"--- {name} exited; restart {self.restarts[name]}\n".encode())
            health, command, env = self._commands[name]
            self._spawn_command(name, health, command, env)
        return name

    def wait(self) -> None:
        """Block until Ctrl-C or SIGTERM, starting again any process that dies meanwhile."""
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            while True:
                if (name := self.restart_failed()) is not None:
                    print(f"{name} exited and was started again; see {self._log_path(name)}", file=sys.stderr)
                time.sleep(1)
        except KeyboardInterrupt:
            return

    def stop(self) -> None:
        for _, proc in reversed(self._procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for _, proc in reversed(self._procs):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        self._procs.clear()
        if self._postgres:
            self._postgres.stop()
        if self._node:
            self._node.stop()

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
