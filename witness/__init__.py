"""A transparency-log witness (C2SP tlog-witness): cosigns a log's checkpoints only while
each is an append-only extension of the last one it cosigned.

- `app.py` — the HTTP service (`POST /add-checkpoint`) and its app factory.
- `keys.py` — the witness's signing key, created once in its data directory.
"""
