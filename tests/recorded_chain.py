"""A recorded chain: what a real node answered while a receipt and a history were verified,
replayed offline so that the tests of receipt and history verification run in milliseconds
(mutation testing runs them once per mutant, too often to start a chain each time).

The recording (tests/data/recorded_chain.json) holds one receipt, one citizen's history,
the log's verifier key and every JSON-RPC answer the embedded node gave to the questions
those tests asked. A question the recording lacks fails the test with `NotRecorded`: a
changed verifier asks the chain something new, so record again with

    MYDATA_RECORD_CHAIN=1 .venv/bin/python -m pytest tests/test_receipt_checks.py tests/test_history_checks.py
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from web3 import HTTPProvider
from web3._utils.encoding import Web3JsonEncoder
from web3.providers.base import JSONBaseProvider

from ledger.chain import ChainClient
from ledger.registry import Registry

RECORDING = Path(__file__).parent / "data" / "recorded_chain.json"
RECORD_ENV = "MYDATA_RECORD_CHAIN"


class NotRecorded(AssertionError):
    """Verification asked the chain a question the recording has no answer to."""


def _question(method: str, params: Any) -> str:
    return json.dumps([method, params], cls=Web3JsonEncoder, sort_keys=True)


class RecordingProvider(HTTPProvider):
    """Asks the node and keeps each answer (result or error) under its question."""

    def __init__(self, url: str, answers: dict[str, Any]):
        super().__init__(url)
        self.answers = answers

    def make_request(self, method, params):  # type: ignore[no-untyped-def]
        response = super().make_request(method, params)
        self.answers[_question(method, params)] = {k: v for k, v in response.items() if k in ("result", "error")}
        return response


class ReplayProvider(JSONBaseProvider):
    """Answers each question as the node did when it was recorded."""

    def __init__(self, answers: dict[str, Any]):
        super().__init__()
        self.answers = answers

    def make_request(self, method, params):  # type: ignore[no-untyped-def]
        try:
            answer = self.answers[_question(method, params)]
        except KeyError:
            raise NotRecorded(f"no recorded answer to {method}{params}: record again ({__doc__})") from None
        return {"jsonrpc": "2.0", "id": 0, **answer}

    def is_connected(self, show_traceback: bool = False) -> bool:
        return True


@dataclass
class RecordedChain:
    """A receipt, a history and the chain they were verified against."""

    receipt: dict[str, Any]
    history: dict[str, Any]
    vkey: str
    client: ChainClient

    def registry_for(self, chain_id: int, contract: str) -> Registry:
        return Registry(self.client, contract)

    @property
    def registry(self) -> Registry:
        return Registry(self.client, self.receipt["chain"]["contract"])

    def lying(self, method: str, asked: Callable[[Any], bool], change: Callable[[Any], Any]) -> RecordedChain:
        """The same chain, except that a node answers `method` questions whose params satisfy
        `asked` with `change(the honest result)`: a node lying about one thing."""
        provider = self.client.w3.provider
        assert isinstance(provider, ReplayProvider), "only a replayed chain can be made to lie"
        answers = dict(provider.answers)
        for question, answer in provider.answers.items():
            asked_method, params = json.loads(question)
            if asked_method == method and asked(params):
                answers[question] = {"result": change(answer["result"])}
        return RecordedChain(self.receipt, self.history, self.vkey, ChainClient("recorded:", provider=ReplayProvider(answers)))


def replayed() -> RecordedChain:
    saved = json.loads(RECORDING.read_text())
    client = ChainClient("recorded:", provider=ReplayProvider(saved["answers"]))
    return RecordedChain(saved["receipt"], saved["history"], saved["vkey"], client)


@contextmanager
def recording(workdir: Path) -> Iterator[RecordedChain]:
    """A fresh receipt and history from a live operator on the embedded chain; every answer
    the node gives while the caller verifies them is saved to RECORDING at the end."""
    from devchain.nodes import DevNode

    node = DevNode("embedded", workdir / "chain", log_file=workdir / "node.log").start()
    try:
        receipt, history, vkey = _live_scenario(node, workdir)
        answers: dict[str, Any] = {}
        yield RecordedChain(receipt, history, vkey, ChainClient(node.url, provider=RecordingProvider(node.url, answers)))
        saved = {"receipt": receipt, "history": history, "vkey": vkey, "answers": dict(sorted(answers.items()))}
        RECORDING.write_text(json.dumps(saved, indent=1) + "\n")
    finally:
        node.stop()


def _live_scenario(node: Any, workdir: Path) -> tuple[dict[str, Any], dict[str, Any], str]:
    """The third of three receipts (its log index is 2, so its inclusion proof has a path, and
    the registry holds an anchor before the one it names), and a history of three anchored
    entries (grant, read, denial) plus one logged after the anchor it names; the registry then
    holds a later anchor of a larger tree."""
    from ledger.wallet import Wallet

    from .helpers import PASSPHRASE, grant_via_operator
    from .worlds import World

    world = World(node, workdir)
    try:
        wallet = Wallet.create(workdir / "receipts.json", PASSPHRASE)
        receipt = [grant_via_operator(world.op, wallet) for _ in range(3)][-1]
        assert receipt["log"]["index"] >= 2 and receipt["anchor"]["index"] >= 1
        world.consent([{"area": "work", "access": "read"}])
        assert world.read().status_code == 200
        assert world.read("education").status_code == 403
        world.op.runtime.anchorer.anchor_now()
        assert world.read().status_code == 200  # after the anchor: pending
        history = world.citizen_op.get(f"/v1/citizens/{world.cid}/history").json()
        assert history["anchor"]["index"] >= 1
        world.consent([{"area": "skills", "access": "read"}])  # grows the log
        world.op.runtime.anchorer.anchor_now()  # a later anchor: another size and root
        return receipt, history, world.op.runtime.signer.verifier.vkey
    finally:
        world.close()


def fixture(workdir: Callable[[], Path]) -> Iterator[RecordedChain]:
    """The recorded chain, or with MYDATA_RECORD_CHAIN set, a live one being recorded."""
    if os.environ.get(RECORD_ENV):
        with recording(workdir()) as chain:
            yield chain
    else:
        yield replayed()
