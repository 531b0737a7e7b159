"""EIP-712 typed data of the ConsentRegistry: the published domain and the Grant and Revoke types."""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_keys.exceptions import BadSignature

from .contract import artifact
from .errors import MyDataError


class SignatureError(MyDataError, ValueError):
    """A signature no key could have made (garbled, or of the wrong length)."""

    problem_type = "invalid-signature"


def typed_data(primary: str, message: dict[str, Any], chain_id: int, contract: str) -> dict[str, Any]:
    """The full EIP-712 message, as a wallet's `eth_signTypedData_v4` takes it."""
    spec = artifact()["eip712"]
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            primary: spec["types"][primary],
        },
        "primaryType": primary,
        "domain": {**spec["domain"], "chainId": chain_id, "verifyingContract": contract},
        "message": message,
    }


def grant_message(consent_id: bytes, commitment: bytes, expires_at: int) -> dict[str, Any]:
    return {"consentId": consent_id, "commitment": commitment, "expiresAt": expires_at}


def revoke_message(consent_id: bytes) -> dict[str, Any]:
    return {"consentId": consent_id}


def sign(account: LocalAccount, primary: str, message: dict[str, Any], chain_id: int, contract: str) -> bytes:
    signable = encode_typed_data(full_message=typed_data(primary, message, chain_id, contract))
    return bytes(account.sign_message(signable).signature)


def recover(signature: bytes, primary: str, message: dict[str, Any], chain_id: int, contract: str) -> str:
    """The address whose key signed `message`; SignatureError if no key could have."""
    signable = encode_typed_data(full_message=typed_data(primary, message, chain_id, contract))
    try:
        return str(Account.recover_message(signable, signature=signature))
    except (BadSignature, ValueError) as exc:
        raise SignatureError(f"unreadable signature ({exc})") from None
