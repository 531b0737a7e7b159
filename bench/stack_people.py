"""A citizen with a `work` area and a service that reads it, on a running Stack: the cast of
the bench scripts that load a real operator (crash_rounds.py, revocation_window.py)."""

from __future__ import annotations

import os
from pathlib import Path

from nacl.public import PrivateKey

from cv_service.sdk import ServiceClient
from mydata.stack import Stack
from web.citizen_agent import CitizenAgent, Endpoints


class People:
    def __init__(self, stack: Stack, wallet_path: Path, service_id: str = "bench-reader"):
        endpoints = Endpoints(stack.url("operator"), stack.url("pds"), stack.chain_url)
        self.agent = CitizenAgent.create(wallet_path, endpoints, "bench passphrase")
        self.service = ServiceClient(stack.url("operator"), service_id, os.urandom(32), PrivateKey.generate())
        self.service.register("Bench Reader", "Reads work under load", "https://reader.example/callback")
        self.agent.save_section("work", [{"name": "Start", "position": "Developer"}])

    def consent(self) -> str:
        """A new read consent on `work`, approved by the citizen; returns its id."""
        self.service.request_consent(self.agent.id, ["dpv:ServiceProvision"], [{"area": "work", "access": "read"}], 30, "https://reader.example/n", b"n")
        return self.agent.approve(self.agent.pending()[-1])["grant"]["consent_id"]
