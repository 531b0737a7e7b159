"""The embedded EVM chain: py-evm (through eth-tester) persisted in SQLite, served as JSON-RPC.

py-evm keeps all chain data in a key-value database; here that database is a
SQLite table, and the changes of every JSON-RPC request commit as one fsynced
transaction, so after a crash or restart every mined block, consent and anchor is
still there. Requests are answered through web3.py's eth-tester endpoint table,
which maps Ethereum JSON-RPC onto eth-tester, plus the `evm_increaseTime`,
`evm_setNextBlockTimestamp` and `evm_mine` methods that Hardhat also offers
(used to test expiry).
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from eth.db.atomic import AtomicDB
from eth.db.backends.base import BaseDB
from eth.estimators.gas import binary_gas_search_intrinsic_tolerance
from eth.vm.spoof import SpoofTransaction
from eth_tester import EthereumTester, PyEVMBackend
from eth_tester.backends.pyevm.main import (
    _get_block_by_number,
    generate_genesis_state_for_keys,
    get_default_genesis_params,
    setup_tester_chain,
)
from eth_tester.exceptions import TransactionFailed
from web3 import Web3
from web3.providers.eth_tester import EthereumTesterProvider
from werkzeug.wrappers import Request, Response

from httpkit.serving import loopback_server
from storage.sqlite.connections import connect

CHAIN_ID = 131277322940537  # eth-tester's chain id
FEE_FIELDS = ("gas_price", "max_fee_per_gas", "max_priority_fee_per_gas")  # eth-tester's names for a transaction's fee


class SqliteKV(BaseDB):
    """py-evm key-value store in SQLite; writes become durable on `commit()`.

    Reads are cached in memory (chain data is content-addressed and small for a dev
    chain); the cache is dropped on rollback.
    """

    def __init__(self, path: str | Path):
        self._cache: dict[bytes, bytes | None] = {}
        self.conn = connect(path)
        self.conn.executescript(
            "CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID;"
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        )
        self.conn.execute("BEGIN")

    def _read(self, key: bytes) -> bytes | None:
        try:
            return self._cache[key]
        except KeyError:
            row = self.conn.execute("SELECT v FROM kv WHERE k=?", (key,)).fetchone()
            value = self._cache[key] = row[0] if row else None
            return value

    def __getitem__(self, key: bytes) -> bytes:
        value = self._read(key)
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.conn.execute("INSERT OR REPLACE INTO kv(k, v) VALUES (?, ?)", (key, value))
        self._cache[key] = value

    def __delitem__(self, key: bytes) -> None:
        if self.conn.execute("DELETE FROM kv WHERE k=?", (key,)).rowcount == 0:
            raise KeyError(key)
        self._cache[key] = None

    def _exists(self, key: bytes) -> bool:
        return self._read(key) is not None

    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def commit(self) -> None:
        self.conn.execute("COMMIT")
        self.conn.execute("BEGIN")

    def rollback(self) -> None:
        self._cache.clear()
        self.conn.execute("ROLLBACK")
        self.conn.execute("BEGIN")

    def close(self) -> None:
        self.conn.execute("ROLLBACK")
        self.conn.close()


def dry_run(state, transaction):
    """The computation of `transaction` on `state`, with the state left as it was."""
    snapshot = state.snapshot()
    try:
        return state.apply_transaction(transaction)
    finally:
        state.revert(snapshot)


def estimate_gas_once(state, transaction) -> int:
    """Gas estimate from one execution at the block gas limit, confirmed by a second run.

    eth-tester's default binary search executes a transaction about a dozen times;
    this keeps `eth_estimateGas` cheap. Falls back to the search if the margin fails.
    """
    computation = dry_run(state, SpoofTransaction(transaction, gas=state.gas_limit, gas_price=0))
    if computation.is_error:
        raise computation.error
    used = state.gas_limit - computation.get_gas_remaining()
    estimate = min(state.gas_limit, used + used // 63 + 5_000)
    ok = not dry_run(state, SpoofTransaction(transaction, gas=estimate, gas_price=0)).is_error
    return estimate if ok else binary_gas_search_intrinsic_tolerance(state, transaction)


class PersistentPyEVMBackend(PyEVMBackend):
    """eth-tester's py-evm backend over a SqliteKV, reopened from its canonical head."""

    def __init__(self, kv: SqliteKV):
        self.kv = kv
        super().__init__()

    def reset_to_genesis(self, genesis_params=None, genesis_state=None, num_accounts=None, *args, **kwargs):
        # A throw-away in-memory chain gives the dev account keys and the chain class.
        self.account_keys, template = setup_tester_chain(genesis_params, genesis_state, num_accounts)
        self._chain_class = type(template)
        if self.kv.get_meta("genesis") is None:
            genesis_state = generate_genesis_state_for_keys(self.account_keys)
            chain = self._chain_class.from_genesis(AtomicDB(self.kv), get_default_genesis_params(), genesis_state)
            self.kv.set_meta("genesis", chain.get_canonical_head().hash.hex())
            self.kv.commit()
        self.reopen()

    def reopen(self) -> None:
        """(Re)build the chain object from its canonical head in the database."""
        self.chain = self._chain_class(AtomicDB(self.kv))
        self.chain.gas_estimator = estimate_gas_once

    def call(self, transaction, block_number="latest"):
        """eth_call as geth answers it. A call that names no fee runs at gas price 0 against
        a zero base fee, so an account with no balance can call (eth-tester charges the
        block's price, refusing an empty account); a revert raises TransactionFailed caused
        by the EVM's error, whose raw revert data becomes the JSON-RPC error's `data`
        (eth-tester keeps only its text)."""
        free = not any(k in transaction for k in FEE_FIELDS)
        tx = {"gas": self._max_available_gas(), **transaction, **({"gas_price": 0} if free else {})}
        spoofed = SpoofTransaction(self._get_normalized_and_unsigned_evm_transaction(tx, block_number), from_=transaction["from"])
        header = _get_block_by_number(self.chain, block_number).header
        computation = dry_run(self.chain.get_vm(at_header=header.copy(base_fee_per_gas=0) if free else header).state, spoofed)
        if computation.is_error:
            raise TransactionFailed("execution reverted") from computation.error
        return computation.output

    def refresh_pending_timestamp(self, now: int) -> None:
        """Date the (empty) pending block at chain time `now`, not when the last block was mined."""
        parent = self.chain.get_canonical_head()
        self.chain.header = self.chain.header.copy(timestamp=max(parent.timestamp + 1, now))


class EmbeddedChain:
    """A persistent dev chain answering Ethereum JSON-RPC requests, one at a time."""

    MUTATING = {"eth_sendRawTransaction", "eth_sendTransaction", "evm_mine"}

    def __init__(self, data_dir: str | Path):
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        self.kv = SqliteKV(Path(data_dir) / "chain.sqlite")
        self.backend = PersistentPyEVMBackend(self.kv)
        self.tester = EthereumTester(self.backend)
        self.w3 = Web3(EthereumTesterProvider(self.tester), middleware=[])
        self._lock = threading.Lock()

    @property
    def time_offset(self) -> int:
        return int(self.kv.get_meta("time_offset") or 0)

    def now(self) -> int:
        return int(time.time()) + self.time_offset

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        rid = request.get("id")
        method = request.get("method")
        params = request.get("params") or []
        if not isinstance(method, str):
            return {"jsonrpc": "2.0", "id": rid, "error": {"code": -32600, "message": "invalid request"}}
        with self._lock:
            try:
                result = self._dispatch(method, params)
                self.kv.commit()
            except Exception as exc:  # noqa: BLE001 - every failure becomes a JSON-RPC error
                self.kv.rollback()
                self.backend.reopen()
                return {"jsonrpc": "2.0", "id": rid, "error": _rpc_error(exc)}
        return {"jsonrpc": "2.0", "id": rid, **result}

    def _dispatch(self, method: str, params: list) -> dict[str, Any]:
        if method == "evm_increaseTime":
            seconds = _quantity(params[0])
            self.kv.set_meta("time_offset", str(self.time_offset + seconds))
            return {"result": hex(seconds)}
        if method == "evm_setNextBlockTimestamp":
            self.kv.set_meta("time_offset", str(_quantity(params[0]) - int(time.time())))
            return {"result": None}
        if method in self.MUTATING:
            self.backend.refresh_pending_timestamp(self.now())
        if method == "evm_mine":
            self.tester.mine_blocks(1)
            return {"result": "0x0"}
        if method == "web3_clientVersion":
            return {"result": "mydata-embedded-chain/py-evm"}
        response = self.w3.manager._make_request(method, params)  # noqa: SLF001 - raw JSON-RPC passthrough
        return {k: to_rpc(v) for k, v in response.items() if k in ("result", "error")}

    def close(self) -> None:
        with self._lock:
            self.kv.close()


def _quantity(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


def _revert_data(exc: BaseException | None) -> bytes | None:
    """The raw revert data eth-tester attaches somewhere in the exception chain."""
    while exc is not None:
        if exc.args and isinstance(exc.args[0], bytes):
            return exc.args[0]
        exc = exc.__cause__ or exc.__context__
    return None


def _rpc_error(exc: Exception) -> dict[str, Any]:
    """Errors as geth reports them: code 3 with the revert data for reverts."""
    data = _revert_data(exc)
    if data is not None:
        return {"code": 3, "message": "execution reverted", "data": "0x" + data.hex()}
    return {"code": -32000, "message": str(exc) or type(exc).__name__}


def wsgi_app(chain: EmbeddedChain):
    """A WSGI app answering single and batched JSON-RPC POSTs."""

    def app(environ, start_response):
        req = Request(environ)
        if req.method != "POST":
            return Response("JSON-RPC over POST\n", status=405)(environ, start_response)
        try:
            body = json.loads(req.get_data())
        except ValueError:
            body = None
        if isinstance(body, list):
            reply: Any = [chain.handle(r) if isinstance(r, dict) else _bad() for r in body]
        elif isinstance(body, dict):
            reply = chain.handle(body)
        else:
            reply = _bad()
        return Response(json.dumps(reply), mimetype="application/json")(environ, start_response)

    return app


def _bad() -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse error"}}


def to_rpc(value: Any) -> Any:
    """Encode eth-tester's Python values the way Ethereum JSON-RPC does: hex quantities and data."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if hasattr(value, "items"):
        return {k: to_rpc(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_rpc(v) for v in value]
    return value


def serve(data_dir: str | Path, port: int, ready=None) -> None:
    """Run the chain's JSON-RPC server until interrupted."""
    chain = EmbeddedChain(data_dir)
    server = loopback_server(wsgi_app(chain), port)
    if ready:
        ready(server.server_port)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        chain.close()
