"""The MyData operator (import name `consent_operator`): Flask app serving the audit log and ledger."""

from .app import create_app

__all__ = ["create_app"]
