"""Ledger core of the MyData consent ledger.

Consent records and their salted commitments, citizen key derivation, the
ConsentRegistry chain client, the RFC 9162 audit log with C2SP checkpoints and
tiles, consent receipts and the auditor.
"""
