"""Transparency-log formats, pure: RFC 9162 hashing and proofs (merkle), C2SP signed notes
(note), checkpoints (checkpoint), tiles (tiles) and tlog-proof (tlog_proof). No I/O, no
database, no other part of the ledger but the error base (ledger/errors.py):
everything else builds on these."""
