"""The default loopback ports of every server, in one place: the commands' defaults and the
stack that `mydata up` and `mydata demo` start all come from here."""

from __future__ import annotations

from dataclasses import dataclass, fields

from devchain.nodes import free_port


@dataclass
class Ports:
    chain: int = 8545
    operator: int = 8600
    pds: int = 8700
    cv_service: int = 8800
    citizen_app: int = 8900
    auditor_view: int = 8950
    witness_1: int = 8981
    witness_2: int = 8982

    @classmethod
    def free(cls) -> Ports:
        """Free loopback ports for every server (tests and benchmarks run beside a stack)."""
        return cls(*(free_port() for _ in fields(cls)))


DEFAULT = Ports()


def local_url(port: int) -> str:
    return f"http://127.0.0.1:{port}"
