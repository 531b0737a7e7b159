"""Chain access through a JSON-RPC URL: the same code runs on the embedded chain and a real node.

`ChainClient` signs transactions locally with the sender's key, simulates them first
so a revert surfaces as a named custom error, and waits for the receipt.
"""

from __future__ import annotations

from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError, Web3RPCError
from web3.providers.base import BaseProvider
from web3.types import Wei

from .errors import MyDataError

DEV_FUNDING_WEI = 10**19  # 10 ETH, only on dev chains with unlocked accounts
DEV_CHAIN_IDS = {31337, 1337, 0x776562337079}  # Hardhat and anvil, Ganache, the embedded eth-tester chain


def is_development_chain(chain_id: int) -> bool:
    """A local test chain: blocks are final when mined, and its funded accounts are no one's."""
    return chain_id in DEV_CHAIN_IDS


class ChainError(MyDataError):
    """The chain is unreachable or a transaction was refused; the message says why."""

    problem_type = "chain-unavailable"


class ContractReverted(ChainError):
    """A contract call reverted with a custom error (`name`, `args`)."""

    def __init__(self, name: str, args: dict[str, Any]):
        detail = ", ".join(f"{k}={_fmt(v)}" for k, v in args.items())
        super().__init__(f"{name}({detail})")
        self.name = name
        self.args_ = args


def _fmt(v: Any) -> str:
    return "0x" + v.hex() if isinstance(v, bytes) else str(v)


class ChainClient:
    """A node at `url`; `provider` replaces the HTTP transport to it (tests replay a
    recorded node through one)."""

    def __init__(self, url: str, account: LocalAccount | None = None, timeout: float = 60, provider: BaseProvider | None = None):
        self.url = url
        self.account = account
        self.w3 = Web3(provider or Web3.HTTPProvider(url, request_kwargs={"timeout": timeout}))
        try:
            self.chain_id = self.w3.eth.chain_id
            self.genesis_hash = "0x" + bytes(self.w3.eth.get_block(0)["hash"]).hex()
        except Exception as exc:  # noqa: BLE001 - any transport failure means unreachable
            raise ChainError(f"cannot reach an Ethereum node at {url}: {exc}") from exc

    def block_number(self) -> int:
        return self.w3.eth.block_number

    def fund_from_dev_account(self, address: str, minimum: int = DEV_FUNDING_WEI // 10) -> bool:
        """Top up `address` from the node's first unlocked dev account; False if none exists."""
        address = Web3.to_checksum_address(address)
        if self.w3.eth.get_balance(address) >= minimum:
            return True
        accounts = self.w3.eth.accounts
        if not accounts:
            return False
        tx = self.w3.eth.send_transaction({"from": accounts[0], "to": address, "value": Wei(DEV_FUNDING_WEI)})
        self.w3.eth.wait_for_transaction_receipt(tx)
        return True

    def transact(self, call: Any, account: LocalAccount | None = None, gas: int | None = None) -> dict[str, Any]:
        """Simulate, sign, send and wait for a contract call or deployment; raise on revert."""
        account = account or self.account
        if account is None:
            raise ChainError("no key to sign the transaction with")
        params = {"from": account.address, "chainId": self.chain_id}
        try:
            estimate = call.estimate_gas(params)
        except (ContractCustomError, ContractLogicError, Web3RPCError, ValueError) as exc:
            raise decode_revert(exc) from None
        params.update(
            nonce=self.w3.eth.get_transaction_count(account.address, "pending"),
            gas=gas or int(estimate * 1.25) + 10_000,
            maxFeePerGas=self.w3.eth.get_block("latest")["baseFeePerGas"] * 2 + 2 * 10**9,
            maxPriorityFeePerGas=10**9,
        )
        tx = call.build_transaction(params)
        signed = account.sign_transaction(tx)
        tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120)
        if receipt["status"] != 1:
            raise ChainError(f"transaction {tx_hash.hex()} failed on chain")
        return dict(receipt)


def decode_revert(exc: Exception) -> ChainError:
    """Turn a web3 revert into ContractReverted with the custom error's name and arguments."""
    from eth_abi.abi import decode

    from .contract import error_selectors

    data = getattr(exc, "data", None)
    if isinstance(data, dict):
        data = data.get("data")
    if isinstance(data, str) and data.startswith("0x") and len(data) >= 10:
        raw = bytes.fromhex(data[2:])
        item = error_selectors().get(raw[:4])
        if item:
            values = decode([i["type"] for i in item["inputs"]], raw[4:])
            return ContractReverted(item["name"], {i["name"]: v for i, v in zip(item["inputs"], values, strict=True)})
    return ChainError(f"transaction refused: {exc}")
